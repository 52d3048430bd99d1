/**
 * The cache is never trusted by name, through the CLI on a real Debian
 * image: a cached .deb whose bytes were replaced (its sha256 name kept) is
 * downloaded again and the image gets the real package; a damaged
 * checkpoint is refused and removed; the temporary of a checkpoint write
 * killed with its worker is listed by `kiln cache list` and removed by
 * `kiln cache prune`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function pids(pattern: string): string[] {
  const r = spawnSync('pgrep', [...(isRoot ? ['-u', TEST_USER] : []), '-f', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** A process and all its descendants (only this build's: other builds of the test user may run meanwhile). */
function tree(pid: string): string[] {
  const children = spawnSync('pgrep', ['-P', pid], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return [pid, ...children.flatMap(tree)];
}

function commandLine(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

describe('the cache is checked, not trusted by name', { skip }, () => {
  const cache = mkdtempSync(join(tmpdir(), 'kiln-integrity-cache-'));
  chmodSync(cache, 0o755);
  // A copy (never links) of the test user's downloads saves fetching them again; the shared cache itself is left alone.
  const shared = join(isRoot ? `/home/${TEST_USER}` : process.env.HOME ?? '', '.cache/kiln/downloads');
  if (existsSync(shared)) spawnSync('cp', ['-r', shared, join(cache, 'downloads')]);
  if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, cache]);
  const toml = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirror}"\n[output]\nformat = ["directory"]\n[build]\ncache-directory = "${cache}"\n`;
  const dir = imageDir(toml);
  const blobPath = (hex: string) => join(cache, 'downloads/blobs/sha256', hex.slice(0, 2), hex);

  test('a cached .deb whose bytes were replaced is downloaded again, and the image has the real package', async () => {
    const first = await kiln(['build', '-C', dir]);
    assert.equal(first.code, 0, first.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { packages: { name: string; sha256: string }[] };
    const victim = manifest.packages.find((p) => p.name === 'hostname');
    const impostor = manifest.packages.find((p) => p.name === 'debianutils');
    assert.ok(victim && impostor, 'hostname and debianutils are in a minimal Debian image');
    const genuine = readFileSync(blobPath(victim.sha256));
    // Another real package's bytes under hostname's name: what a script or a broken disk could leave.
    writeFileSync(blobPath(victim.sha256), readFileSync(blobPath(impostor.sha256)));

    const again = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`the cached hostname does not match its sha256 ${victim.sha256} \\(it hashes to ${impostor.sha256}\\): removed, downloading it again`));
    assert.equal(sha256(readFileSync(blobPath(victim.sha256))), victim.sha256, 'the cache holds the real package again');
    assert.ok(readFileSync(blobPath(victim.sha256)).equals(genuine));
    const root = join(dir, 'out/image');
    const list = readFileSync(join(root, 'var/lib/dpkg/info/hostname.list'), 'utf8');
    assert.match(list, /\/bin\/hostname\n/);
    const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
    assert.equal(status.split('\n').filter((l) => l === 'Package: debianutils').length, 1, 'debianutils is installed once, not also as hostname');
    const after = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { packages: { name: string; sha256: string }[] };
    assert.equal(after.packages.find((p) => p.name === 'hostname')?.sha256, victim.sha256);
  });

  test('a checkpoint whose bytes changed is refused and removed, and the build runs from scratch', async () => {
    const checkpoints = join(cache, 'checkpoints');
    const whole = readdirSync(checkpoints).filter((n) => !n.startsWith('.')).find((n) => !JSON.parse(readFileSync(join(checkpoints, n, 'meta.json'), 'utf8')).base);
    assert.ok(whole, 'a whole-tree (configure) checkpoint exists');
    const tree = join(checkpoints, whole, 'tree.tar.zst');
    const bytes = readFileSync(tree);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 0xff;
    writeFileSync(tree, bytes);
    const r = await kiln(['build', '-C', dir, '--rebuild', 'customize']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`the configure checkpoint ${whole.slice(0, 12)}\\w* was damaged and is removed`));
    assert.doesNotMatch(r.stderr, /reusing/);
    const meta = JSON.parse(readFileSync(join(checkpoints, whole, 'meta.json'), 'utf8')) as { sha256: string };
    assert.equal(sha256(readFileSync(tree)), meta.sha256, 'stored again, whole');
  });

  test('a checkpoint write killed with its worker leaves a temporary that cache list shows and cache prune removes', async () => {
    const checkpoints = join(cache, 'checkpoints');
    const marker = `kiln.mjs build -C ${dir}`;
    const run = kiln(['build', '-C', dir, '--rebuild']);
    let finished = false;
    void run.then(() => (finished = true));
    while (!finished && !(existsSync(checkpoints) && readdirSync(checkpoints).some((n) => n.startsWith('.tmp-')))) await sleep(5);
    // The whole build at once, the worker (PID 1 of its namespace) included: nothing is left to clean up after it.
    const victims = pids(marker).flatMap(tree);
    const workers = victims.filter((pid) => commandLine(pid).includes('__worker'));
    assert.ok(!finished && workers.length > 0, 'the build was stopped while a checkpoint was written');
    // The worker first: it would otherwise see its pipe close and clean up.
    spawnSync('kill', ['-KILL', ...workers]);
    spawnSync('kill', ['-KILL', ...victims]);
    assert.notEqual((await run).code, 0);
    for (let i = 0; i < 100 && workers.some((pid) => existsSync(`/proc/${pid}`)); i++) await sleep(100);
    const left = readdirSync(checkpoints).filter((n) => n.startsWith('.tmp-'));
    assert.equal(left.length, 1, 'the killed write left its temporary');
    assert.doesNotMatch(left[0] as string, /^\.tmp-1-/, 'named after the host-side kiln, not the worker');

    const list = await kiln(['cache', 'list', '-C', dir]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`leftover +\\S+ \\S+ +${left[0]?.replace(/[.]/g, '\\.')}\\n`));
    assert.match(list.stdout, /1 temporaries of killed builds/);
    const prune = await kiln(['cache', 'prune', '-C', dir, '--max-size', '100G']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /removed 1 temporaries of killed builds/);
    assert.deepEqual(readdirSync(checkpoints).filter((n) => n.startsWith('.')), []);
    assert.doesNotMatch((await kiln(['cache', 'list', '-C', dir])).stdout, /leftover/);
  });
});
