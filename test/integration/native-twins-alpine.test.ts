/**
 * Native twins for apk (issue 11): an Alpine aarch64 build from the fixture
 * repositories (test/helpers/apk-fixture.ts: Debian's busybox-static and
 * musl as Alpine packages), whose scripts and triggers start `busybox
 * mkdir`, runs it from busybox's x86_64 twin (the same repositories for the
 * host's architecture, the index's and the package's signatures checked,
 * musl's loader beside it), and gives the same tar as the full-emulation
 * build; a twin at another version than the tree's package is never used;
 * a twin signed by an unknown key fails the build in one line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { apkFixtureSkipReason, apkPackage, makeApkRepos, readableApkKeys, type ApkRepos } from '../helpers/apk-fixture.ts';
import { TWIN_EPOCH, tarMember, twinBuild, type TwinBuilt } from '../helpers/twin-build.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { kernelSupportsNamespacedBinfmt } from '../../src/pipeline/emulation.ts';

const skip = skipOrFail(
  integrationSkipReason() ??
    apkFixtureSkipReason(['x86_64', 'aarch64']) ??
    (kernelSupportsNamespacedBinfmt() ? undefined : 'native twins need binfmt_misc per namespace (Linux >= 6.7)'),
);

const EPOCH = TWIN_EPOCH;
/** What the fixture's scripts and triggers leave (apk-fixture-specs.ts), each made with `/bin/busybox mkdir -p` first. */
const MARKS = ['var/lib/kiln-marks/busybox.post-install', 'var/lib/kiln-marks/busybox.trigger', 'var/lib/kiln-marks/alpine-baselayout.pre-install', 'var/lib/kiln-marks/alpine-baselayout.post-install'];




describe('native twins: Alpine aarch64 from the fixture repositories', { skip }, () => {
  let repos: ApkRepos;
  let fixtureDir: string;
  let keys: string;
  let cache: string;
  let dir: string;
  let twins: TwinBuilt;
  let full: TwinBuilt;

  const toml = (mirror: string, cacheDir = cache) =>
    [
      '[distribution]', 'name = "alpine"', 'release = "v3.21"', 'architecture = "aarch64"', `mirror = "${mirror}/alpine"`, 'repositories = ["main"]', `keyring = ["${keys}"]`, '',
      '[packages]', 'base = "minimal"', 'install = ["hello", "docs"]', '',
      '[build]', 'emulation = "native-twins"', `cache-directory = "${cacheDir}"`, '',
      '[output]', 'format = ["tar"]', '',
    ].join('\n');


  before(async () => {
    fixtureDir = mkdtempSync(join(tmpdir(), 'kiln-twins-alpine-'));
    repos = await makeApkRepos(fixtureDir, { architectures: ['x86_64', 'aarch64'] });
    keys = readableApkKeys(repos.keysDir, 'twins-alpine');
    cache = imageDir();
    const mirror: Mirror = await startMirror(repos.root);
    try {
      dir = imageDir(toml(mirror.url));
      twins = await twinBuild(dir);
      full = await twinBuild(dir, ['--set', 'build.emulation=full']);
    } finally {
      await mirror.close();
    }
  });
  after(() => {
    rmSync(keys, { recursive: true, force: true });
    rmSync(fixtureDir, { recursive: true, force: true });
  });

  test('the native-twin build and the full-emulation build give the same tar, byte for byte', () => {
    assert.equal(twins.code, 0, twins.stderr);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(twins.sha, full.sha);
    // What the scripts and the trigger made with busybox is there.
    for (const path of MARKS) assert.ok(tarMember(dir, path).length > 0, path);
    assert.match(tarMember(dir, 'var/lib/kiln-marks/busybox.post-install'), /^busybox post-install 1\.37\.0-r12\n$/);
  });

  test('the build log says how many executions ran natively (busybox mkdir, from its x86_64 twin) and how many emulated (busybox sh running the scripts); the full build has no twins', () => {
    const m = /\[scripts\] native twins: (\d+) executions ran natively, (\d+) emulated/.exec(twins.stderr);
    assert.ok(m, twins.stderr);
    // A mkdir in each of the three scripts and in the trigger; each one’s shell, and busybox --install, emulated.
    assert.ok(Number(m[1]) >= 4 && Number(m[2]) >= 5, m[0]);
    const detail = /\[scripts\] natively: (.*); emulated: (.*)$/m.exec(twins.stderr);
    assert.match(detail?.[1] ?? '', /^\/bin\/busybox \d+$/);
    // The batch's /bin/sh, busybox running each script (`#!/bin/busybox sh`) and `busybox --install -s`.
    assert.match(detail?.[2] ?? '', /^(\/bin\/(busybox|sh) \d+(, |$))+$/);
    assert.match(detail?.[2] ?? '', /\/bin\/busybox \d+/);
    assert.doesNotMatch(full.stderr, /native twins:/);
  });

  test('the script ledger: busybox’s and alpine-baselayout’s scripts had native helpers (fully emulated without twins), musl and hello have none', () => {
    assert.equal(twins.ledger['busybox'], 'native helpers', JSON.stringify(twins.ledger));
    assert.equal(twins.ledger['alpine-baselayout'], 'native helpers', JSON.stringify(twins.ledger));
    assert.equal(full.ledger['busybox'], 'fully emulated', JSON.stringify(full.ledger));
    assert.equal(full.ledger['alpine-baselayout'], 'fully emulated', JSON.stringify(full.ledger));
    for (const name of ['musl', 'hello', 'alpine-base']) {
      assert.equal(twins.ledger[name], 'no scripts', name);
      assert.equal(full.ledger[name], 'no scripts', name);
    }
    assert.deepEqual(Object.keys(twins.ledger), Object.keys(full.ledger));
  });

  test('busybox at another version in the x86_64 repository is never used: it runs under QEMU, with the same results', async () => {
    const tree = apkPackage(repos, 'aarch64', 'busybox').version;
    const other = tree.replace(/-r(\d+)$/, (_, rel: string) => `-r${Number(rel) + 1}`);
    const root = await repos.repacked({ machine: 'x86_64', package: 'busybox', version: other });
    const mirror = await startMirror(root);
    try {
      const at = imageDir(toml(mirror.url));
      const r = await twinBuild(at);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(`busybox stays emulated: x86_64 has ${other}, the tree ${tree}`), r.stderr);
      assert.match(r.stderr, /no native twins to use: every program runs under QEMU/);
      assert.doesNotMatch(r.stderr, /native twins: \d+ executions ran natively/);
      assert.equal(r.ledger['busybox'], 'fully emulated');
      for (const path of MARKS) assert.equal(tarMember(at, path), tarMember(dir, path), path);
    } finally {
      await mirror.close();
    }
  });

  test('a twin is checked like every package: an x86_64 busybox signed by a key not in the keyring fails the build with exit 2, in one line naming it', async () => {
    const root = await repos.repacked({ machine: 'x86_64', package: 'busybox', key: 'unknown' });
    const mirror = await startMirror(root);
    try {
      // A cache of its own: the twin store of the cache above holds busybox's twin from the good package, whose
      // control stream (the index's C:, by which the store knows it) this one shares; that entry would be used, not this file.
      const r = await kiln(['build', '-C', imageDir(toml(mirror.url, imageDir())), '--rebuild'], { env: { SOURCE_DATE_EPOCH: EPOCH } });
      assert.equal(r.code, 2, r.stderr);
      const errors = r.stderr.split('\n').filter((l) => /error/i.test(l));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0] as string, /twin busybox 1\.37\.0-r12 x86_64 \(.*busybox-1\.37\.0-r12\.apk\) is signed by an unknown key \(kiln-unknown@/);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    } finally {
      await mirror.close();
    }
  });

  test('an x86_64 index signed by no key of the keyring (Alpine signs each architecture with keys of its own) gives no twins, said once: everything runs under QEMU', async () => {
    const root = await repos.repacked({ machine: 'x86_64', package: 'busybox', indexKey: 'unknown' });
    const mirror = await startMirror(root);
    try {
      const at = imageDir(toml(mirror.url, imageDir()));
      const r = await twinBuild(at);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /no x86_64 twins from main: its index is signed by kiln-unknown@\S+, not in the twins' keyring \(build\.twin-keyring, else distribution\.keyring\)/);
      assert.doesNotMatch(r.stderr, /native twins: \d+ executions ran natively/);
      assert.equal(r.ledger['busybox'], 'fully emulated');
      for (const path of MARKS) assert.equal(tarMember(at, path), tarMember(dir, path), path);
    } finally {
      await mirror.close();
    }
  });

  test('build.twin-mirror gives the twins from another mirror, build.twin-keyring the keys they are checked with; an unpacked twin is checked again under each build’s keyring', async () => {
    // The x86_64 index re-signed by the unknown key: with the tree's keyring alone, that mirror gives no twins.
    const resigned = await startMirror(await repos.repacked({ machine: 'x86_64', package: 'busybox', indexKey: 'unknown' }));
    const good = await startMirror(repos.root);
    const unknownKeys = readableApkKeys(repos.unknownKeysDir, 'twins-alpine-unknown');
    const withBuild = (mirror: string, lines: string[], cacheDir: string) => toml(mirror, cacheDir).replace('[build]\n', `[build]\n${lines.join('\n')}\n`);
    try {
      const fromMirror = imageDir(withBuild(resigned.url, [`twin-mirror = "${good.url}/alpine"`], imageDir()));
      const r = await twinBuild(fromMirror);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /native twins: [1-9]\d* executions ran natively/);
      assert.equal(r.ledger['busybox'], 'native helpers');
      // Another mirror (its URL is in /etc/apk/repositories): the scripts' marks are the same.
      for (const path of MARKS) assert.equal(tarMember(fromMirror, path), tarMember(dir, path), path);

      // From the re-signed mirror, with the unknown key trusted for the twins only (the tree's packages still need the fixture's key).
      const ownCache = imageDir();
      const fromKeyring = imageDir(withBuild(good.url, [`twin-mirror = "${resigned.url}/alpine"`, `twin-keyring = ${JSON.stringify([keys, unknownKeys])}`], ownCache));
      const k = await twinBuild(fromKeyring);
      assert.equal(k.code, 0, k.stderr);
      assert.match(k.stderr, /native twins: [1-9]\d* executions ran natively/);
      for (const path of MARKS) assert.equal(tarMember(fromKeyring, path), tarMember(dir, path), path);

      // The same cache, the unknown key alone: the index is accepted, busybox's twin (in the store since the build
      // before, signed by the fixture's key) is checked again and refused.
      const refused = await kiln(['build', '-C', imageDir(withBuild(good.url, [`twin-mirror = "${resigned.url}/alpine"`, `twin-keyring = ["${unknownKeys}"]`], ownCache)), '--rebuild'], { env: { SOURCE_DATE_EPOCH: EPOCH } });
      assert.equal(refused.code, 2, refused.stderr);
      const errors = refused.stderr.split('\n').filter((l) => /error/i.test(l));
      assert.equal(errors.length, 1, refused.stderr);
      assert.match(errors[0] as string, /twin busybox 1\.37\.0-r12 x86_64 \(.*\) is signed by an unknown key/);
    } finally {
      await resigned.close();
      await good.close();
      rmSync(unknownKeys, { recursive: true, force: true });
    }
  });
});
