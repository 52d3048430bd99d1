/**
 * Stopping a build at any point (Ctrl-C or SIGKILL, during resolve, fetch,
 * unpack, configure and output) leaves no process, no mount, no partial
 * output and no corrupt cache entry, and the next build succeeds.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror');

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

describe('stopping a build', { skip }, () => {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-interrupt-cache-'));
  chmodSync(cache, 0o755);
  if (isRoot) spawnSync('chown', [`${TEST_USER}:`, cache]);
  const toml = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirror}"\n[output]\nformat = ["directory", "tar.gz"]\n[build]\ncache-directory = "${cache}"\n`;
  // Seconds after the start, with a cold cache first: resolve, fetch, unpack, configure, output.
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
      const run = kiln(['build', '-C', dir]);
      await sleep(seconds * 1000);
      const kilnPid = processesWith(marker)[0]?.split(' ')[0];
      if (kilnPid) spawnSync('kill', [`-${signal.slice(3)}`, kilnPid]);
      const result = await run;
      for (let i = 0; i < 100 && processesWith(dir).length + processesWith('__worker').length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(dir), [], 'no kiln process left');
      assert.deepEqual(processesWith('__worker'), [], 'no worker left');
      const out = join(dir, 'out');
      const left = existsSync(out) ? readdirSync(out) : [];
      assert.deepEqual(left.filter((n) => n.startsWith('.')), [], 'no temporaries in the output directory');
      if (result.code !== 0) assert.deepEqual(left.filter((n) => n === 'image.tar.gz' || n === 'image'), [], 'no output from a stopped build');
      const work = join(cache, 'work');
      if (signal === 'SIGINT') assert.deepEqual(existsSync(work) ? readdirSync(work) : [], [], 'no work tree left');
      assertCacheIntact(cache);
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
      for (let i = 0; i < 100 && processesWith(dir).length + processesWith('__worker').length > 0; i++) await sleep(100);
      assert.deepEqual(processesWith(dir), [], 'no kiln process left');
      assert.deepEqual(processesWith('__worker'), [], 'no worker left');
      assert.deepEqual(readdirSync(join(dir, 'out')), [], 'no temporary and no output');
    });
  }

  test('the next build succeeds', async () => {
    const dir = imageDir(toml);
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['image', 'image.tar.gz']);
    assertCacheIntact(cache);
    assert.deepEqual(readdirSync(join(cache, 'work')), [], 'stale work directories were swept');
  });
});
