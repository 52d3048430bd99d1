/**
 * Stopping a build at any point (Ctrl-C or SIGKILL, during resolve, fetch,
 * unpack, configure, a checkpoint, a restore and output) leaves no process,
 * no mount, no partial output, no corrupt cache entry and no corrupt
 * checkpoint, and the next build succeeds, with the same bytes as a build
 * from scratch.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundle, imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { makeFakeArchive, type FakeArchive } from '../helpers/fake-debian.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

/** The pids of the test user's processes whose command line mentions `marker`. */
function processesWith(marker: string): string[] {
  const r = spawnSync('pgrep', ['-a', ...(isRoot ? ['-u', TEST_USER] : []), '-f', marker], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

function assertCacheIntact(cache: string): void {
  const blobs = join(cache, 'downloads/blobs/sha256');
  if (!existsSync(blobs)) return;
  for (const prefix of readdirSync(blobs)) {
    for (const name of readdirSync(join(blobs, prefix))) {
      const digest = createHash('sha256').update(readFileSync(join(blobs, prefix, name))).digest('hex');
      assert.equal(digest, name, `cache entry ${name} is whole`);
    }
  }
}

/** Every checkpoint is whole (its tree has the recorded checksum, its base exists); temporaries only after SIGKILL. */
function assertCheckpointsIntact(cache: string, signal: NodeJS.Signals): void {
  const dir = join(cache, 'checkpoints');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.tmp-')) {
      assert.equal(signal, 'SIGKILL', `a temporary checkpoint ${name} is left only by SIGKILL (swept by the next build)`);
      continue;
    }
    const meta = JSON.parse(readFileSync(join(dir, name, 'meta.json'), 'utf8')) as { key: string; sha256: string; size: number; base?: string };
    const tree = readFileSync(join(dir, name, 'tree.tar.zst'));
    assert.equal(meta.key, name);
    assert.equal(tree.length, meta.size, `checkpoint ${name} has its whole tree`);
    assert.equal(createHash('sha256').update(tree).digest('hex'), meta.sha256, `checkpoint ${name} is intact`);
    if (meta.base) assert.ok(existsSync(join(dir, meta.base, 'meta.json')), `the base of ${name} exists`);
  }
}

/** What the build below publishes, sorted: the outputs, the manifest and the two SBOMs. */
const WHOLE_SET = ['image', 'image.cdx.json', 'image.manifest.json', 'image.spdx.json', 'image.tar.gz'];

describe('stopping a build', { skip }, () => {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-interrupt-cache-'));
  chmodSync(cache, 0o755);
  if (isRoot) spawnSync('chown', [`${TEST_USER}:`, cache]);
  const toml = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirror}"\n[output]\nformat = ["directory", "tar.gz"]\n[build]\ncache-directory = "${cache}"\n`;
  // Seconds after the start, with a cold cache first: resolve, fetch, unpack, configure, output; a warm build
  // takes about 13 s here, so the last two fall around its end, when the outputs are published.
  const points: [NodeJS.Signals, number][] = [
    ['SIGINT', 0.4],
    ['SIGKILL', 2.5],
    ['SIGINT', 3.5],
    ['SIGINT', 6],
    ['SIGKILL', 7],
    ['SIGINT', 9],
    ['SIGKILL', 10.5],
    ['SIGINT', 12],
    ['SIGKILL', 13.5],
    ['SIGINT', 15],
  ];

  for (const [signal, seconds] of points) {
    test(`${signal} after ${seconds} s leaves nothing behind`, async () => {
      const dir = imageDir(toml);
      const marker = `kiln.mjs build -C ${dir}`;
      // Every stage runs (none is skipped for a stored checkpoint), so the times fall where they say.
      const run = kiln(['build', '-C', dir, '--rebuild']);
      await sleep(seconds * 1000);
      const kilnPid = processesWith(marker)[0]?.split(' ')[0];
      if (kilnPid) spawnSync('kill', [`-${signal.slice(3)}`, kilnPid]);
      const result = await run;
      // This test process's own workers: other builds of the test user (other test files, other work) run other bundles.
      const worker = `${bundle()} __worker`;
      for (let i = 0; i < 100 && processesWith(dir).length + processesWith(worker).length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(dir), [], 'no kiln process left');
      assert.deepEqual(processesWith(worker), [], 'no worker left');
      const out = join(dir, 'out');
      const left = existsSync(out) ? readdirSync(out).sort() : [];
      assert.deepEqual(left.filter((n) => n.startsWith('.')), [], 'no temporaries in the output directory');
      // Stopped while its outputs were published (the last few milliseconds of a build), it leaves all of them with their records, whole.
      const published = left.filter((n) => n.startsWith('image'));
      if (result.code !== 0 && published.length > 0) {
        assert.deepEqual(published, WHOLE_SET, 'a stopped build leaves none of its outputs or all of them with the manifest and SBOMs');
        assert.equal(spawnSync('gzip', ['-t', join(out, 'image.tar.gz')]).status, 0, 'the published tar.gz is whole');
      }
      const work = join(cache, 'work');
      if (signal === 'SIGINT') assert.deepEqual(existsSync(work) ? readdirSync(work) : [], [], 'no work tree left');
      assertCacheIntact(cache);
      assertCheckpointsIntact(cache, signal);
    });
  }

  // While a checkpoint is written (its temporary directory exists), and while one is restored.
  for (const [signal, what] of [['SIGKILL', 'checkpoint'], ['SIGINT', 'checkpoint'], ['SIGKILL', 'restore']] as const) {
    test(`${signal} during a ${what} leaves no corrupt checkpoint`, async () => {
      const dir = imageDir(toml);
      const marker = `kiln.mjs build -C ${dir}`;
      const checkpoints = join(cache, 'checkpoints');
      const run = kiln(['build', '-C', dir, ...(what === 'checkpoint' ? ['--rebuild'] : [])]);
      let finished = false;
      void run.then(() => (finished = true));
      const started = Date.now();
      if (what === 'checkpoint') {
        while (!finished && !(existsSync(checkpoints) && readdirSync(checkpoints).some((n) => n.startsWith(`.tmp-`)))) await sleep(5);
      } else {
        await sleep(700); // after resolve (~0.3 s), inside the ~1 s restore
      }
      const kilnPid = processesWith(marker)[0]?.split(' ')[0];
      assert.ok(!finished && kilnPid, `the build was stopped during the ${what} (${Date.now() - started} ms in)`);
      spawnSync('kill', [`-${signal.slice(3)}`, kilnPid]);
      const result = await run;
      assert.notEqual(result.code, 0);
      for (let i = 0; i < 100 && processesWith(dir).length + processesWith(`${bundle()} __worker`).length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(`${bundle()} __worker`), [], 'no worker left');
      assertCheckpointsIntact(cache, signal);
    });
  }

  // While `cp` fills the directory output's temporary: the worker must stop it before removing it.
  for (const [signal, temporary] of [['SIGKILL', '.image.kiln-tmp-1'], ['SIGINT', '.image.tar.gz.kiln-tmp-1']] as const) {
    test(`${signal} while ${temporary} is written leaves nothing behind`, async () => {
      const dir = imageDir(toml);
      const marker = `kiln.mjs build -C ${dir}`;
      const run = kiln(['build', '-C', dir]);
      let finished = false;
      void run.then(() => (finished = true));
      while (!finished && !existsSync(join(dir, 'out', temporary))) await sleep(10);
      const kilnPid = processesWith(marker)[0]?.split(' ')[0];
      assert.ok(!finished && kilnPid, 'the build was stopped while writing its outputs');
      spawnSync('kill', [`-${signal.slice(3)}`, kilnPid]);
      const result = await run;
      assert.notEqual(result.code, 0);
      // This test process's own workers: other builds of the test user (other test files, other work) run other bundles.
      const worker = `${bundle()} __worker`;
      for (let i = 0; i < 100 && processesWith(dir).length + processesWith(worker).length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(dir), [], 'no kiln process left');
      assert.deepEqual(processesWith(worker), [], 'no worker left');
      assert.deepEqual(readdirSync(join(dir, 'out')), [], 'no temporary and no output');
    });
  }

  test('the next build succeeds, from the checkpoints, with the bytes of a build from scratch', async () => {
    const dir = imageDir(toml);
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['image', 'image.cdx.json', 'image.manifest.json', 'image.spdx.json', 'image.tar.gz']);
    assertCacheIntact(cache);
    assertCheckpointsIntact(cache, 'SIGINT');
    assert.deepEqual(readdirSync(join(cache, 'checkpoints')).filter((n) => n.startsWith('.')), [], 'temporaries of killed builds were swept');
    assert.deepEqual(readdirSync(join(cache, 'work')), [], 'stale work directories were swept');
    const resumed = createHash('sha256').update(readFileSync(join(dir, 'out/image.tar.gz'))).digest('hex');
    const fresh = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(createHash('sha256').update(readFileSync(join(dir, 'out/image.tar.gz'))).digest('hex'), resumed);
  });
});

// A package download that stalls (the mirror sent 100 bytes and then nothing): Ctrl-C or SIGTERM must
// stop it at once and remove its temporary (`CACHE/downloads/blobs/tmp/*.part`) before kiln exits.
describe('stopping a build during a download', { skip: skipOrFail(integrationSkipReason()) }, () => {
  let archive: FakeArchive;
  let stalled: Mirror;
  before(async () => {
    const work = mkdtempSync(join(tmpdir(), 'kiln-fake-archive-'));
    chmodSync(work, 0o755);
    archive = await makeFakeArchive(work);
    stalled = await startMirror(archive.root, { faults: { '/pool/main/t/tiny/tiny_1.0_all.deb': { stallAfter: 100 } } });
  });
  after(() => stalled?.close());

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} while a package downloads leaves no .part file`, { timeout: 120_000 }, async () => {
      const cache = mkdtempSync(join(tmpdir(), 'kiln-interrupt-cache-'));
      chmodSync(cache, 0o755);
      if (isRoot) spawnSync('chown', [`${TEST_USER}:`, cache]);
      const toml =
        `[distribution]\nname = "debian"\nrelease = "kilntest"\narchitecture = "amd64"\nmirror = "${stalled.url}"\nkeyring = ["${archive.keyring}"]\n` +
        `[packages]\nbase = "essential"\n[build]\ncache-directory = "${cache}"\n`;
      const dir = imageDir(toml);
      const temporaries = join(cache, 'downloads/blobs/tmp');
      const parts = () => (existsSync(temporaries) ? readdirSync(temporaries).filter((n) => n.endsWith('.part')) : []);
      const run = kiln(['build', '-C', dir]);
      let finished = false;
      void run.then(() => (finished = true));
      // Started, and the stalled mirror's 100 bytes are in the temporary.
      while (!finished && !parts().some((n) => statSync(join(temporaries, n)).size === 100)) await sleep(20);
      const kilnPid = processesWith(`kiln.mjs build -C ${dir}`)[0]?.split(' ')[0];
      assert.ok(!finished && kilnPid, 'the build was stopped during the download');
      spawnSync('kill', [`-${signal.slice(3)}`, kilnPid]);
      const result = await run;
      assert.deepEqual(parts(), [], 'no .part file left');
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`kiln: error: interrupted by ${signal}`));
      assert.deepEqual(processesWith(dir), [], 'no kiln process left');
    });
  }
});
