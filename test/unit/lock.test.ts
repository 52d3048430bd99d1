/** kiln.lock: its text (stable, sorted, read back whole), the settings digest (what changes it and what does not), the snapshot URL patterns. */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { changedSettings, formatLock, imageId, inputsDigest, lockForBuild, lockInputs, parseLock, snapshotMirror, type LockedImage } from '../../src/lock/index.ts';
import { lockedUrls, relativeUrl } from '../../src/formats/locking.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function imageDir(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-lock-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return dir;
}

const TOML = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n\n[packages]\nbase = "minimal"\ninstall = ["less", "ca-certificates"]\n';

const pkg = (name: string, architecture = 'amd64', version = '1.0') => ({
  name,
  version,
  architecture,
  url: `pool/main/${name[0]}/${name}/${name}_${version}_${architecture}.deb`,
  size: 1234,
  sha256: name.length.toString(16).padStart(2, '0').repeat(32),
  facts: { source: name, 'source-version': version, 'multi-arch': 'no' },
});

function image(overrides: Partial<LockedImage> = {}): LockedImage {
  return {
    id: 'debian bookworm amd64',
    distribution: 'debian',
    release: 'bookworm',
    architecture: 'amd64',
    profiles: [],
    format: 'deb',
    locked: 1_764_633_600,
    configDigest: 'sha256:00',
    inputs: { 'packages.install': ['less'], 'distribution.name': 'debian' },
    sourceDateEpoch: 1_700_000_000,
    sourceDateEpochFrom: 'release: the repository\'s date (default)',
    repositoryDate: 1_700_000_000,
    mirrors: ['http://127.0.0.1:9/debian'],
    keyringFingerprints: ['BBBB', 'AAAA'],
    packages: [pkg('zlib1g'), pkg('libc6', 'i386'), pkg('libc6'), pkg('base-files')],
    ...overrides,
  };
}

describe('kiln.lock text', () => {
  test('is sorted and stable: the same lock in any order gives the same bytes, one package per line', () => {
    const a = formatLock({ version: 1, images: [image(), image({ id: 'debian bookworm arm64', architecture: 'arm64' })] });
    const shuffled = image({ packages: [...image().packages].reverse(), keyringFingerprints: ['AAAA', 'BBBB'] });
    const b = formatLock({ version: 1, images: [image({ id: 'debian bookworm arm64', architecture: 'arm64' }), shuffled] });
    assert.equal(a, b);
    const lines = a.split('\n');
    const names = lines.filter((l) => l.startsWith('  { name = ')).map((l) => /name = "([^"]+)", version = "[^"]+", architecture = "([^"]+)"/.exec(l)!.slice(1).join(':'));
    assert.deepEqual(names.slice(0, 4), ['base-files:amd64', 'libc6:amd64', 'libc6:i386', 'zlib1g:amd64']);
    assert.ok(lines.indexOf('id = "debian bookworm amd64"') < lines.indexOf('id = "debian bookworm arm64"'), 'images sorted by id');
    assert.ok(lines.includes('keyring-fingerprints = ["AAAA", "BBBB"]'));
    assert.ok(lines.includes('locked = "2025-12-02T00:00:00Z"'));
  });

  test('reads back to the same lock', () => {
    const text = formatLock({ version: 1, images: [image({ newestPackageDate: 5, packages: [{ ...pkg('musl'), indexChecksum: 'Q1abc=', facts: { explicit: true, builddate: 7 } }] })] });
    const read = parseLock(text, 'kiln.lock');
    assert.equal(formatLock(read), text);
    assert.equal(read.images[0]?.packages[0]?.indexChecksum, 'Q1abc=');
    assert.deepEqual(read.images[0]?.packages[0]?.facts, { explicit: true, builddate: 7 });
    assert.equal(read.images[0]?.locked, 1_764_633_600);
  });

  test('a damaged lock is one clear error', () => {
    const text = formatLock({ version: 1, images: [image()] }).replace(/sha256 = "[0-9a-f]+"/, 'sha256 = "xyz"');
    assert.throws(() => parseLock(text, 'kiln.lock'), /kiln\.lock: image 1: package 1: sha256 "xyz" is not 64 hex digits/);
    assert.throws(() => parseLock('version = 7\n', 'kiln.lock'), /lock version 7/);
  });
});

describe('the settings digest', () => {
  const digestOf = (toml: string, sets: string[] = [], env: Record<string, string> = {}) => inputsDigest(lockInputs(loadConfig({ dir: imageDir(toml), env, sets })));
  const base = digestOf(TOML);

  test('does not change with what only shapes the outputs, the tree, the mirror or the date', () => {
    for (const set of ['output.format=tar.zst', 'output.name=other', 'distribution.mirror=http://127.0.0.1:8/debian', 'system.hostname=box', 'build.jobs=2', 'distribution.check-date=false', 'prune.remove=/usr/share/doc']) {
      assert.equal(digestOf(TOML, [set]), base, set);
    }
    assert.equal(digestOf(TOML, [], { SOURCE_DATE_EPOCH: '1234' }), base, 'SOURCE_DATE_EPOCH');
    assert.equal(digestOf(TOML.replace('["less", "ca-certificates"]', '["ca-certificates", "less"]')), digestOf(TOML.replace('["less", "ca-certificates"]', '["ca-certificates", "less"]')), 'stable');
  });

  test('changes with what decides the package set', () => {
    for (const set of ['packages.install+=curl', 'packages.base=standard', 'distribution.release=trixie', 'distribution.architecture=arm64', 'distribution.repositories=main,contrib']) {
      assert.notEqual(digestOf(TOML, [set]), base, set);
    }
  });

  test('names the settings that changed', () => {
    const before = lockInputs(loadConfig({ dir: imageDir(TOML), env: {} }));
    const now = lockInputs(loadConfig({ dir: imageDir(TOML), env: {}, sets: ['packages.install+=curl', 'output.format=tar.xz'] }));
    assert.deepEqual(changedSettings(before, now), ['packages.install']);
  });

  test('kiln build refuses a lock made for other settings in one line naming the setting', () => {
    const dir = imageDir(TOML);
    const loaded = loadConfig({ dir, env: {} });
    const inputs = lockInputs(loaded);
    writeFileSync(join(dir, 'kiln.lock'), formatLock({ version: 1, images: [image({ id: imageId(loaded), inputs, configDigest: inputsDigest(inputs) })] }));
    assert.equal(lockForBuild(loaded)?.set.packages.length, 4);
    assert.equal(lockForBuild(loadConfig({ dir, env: {}, sets: ['output.format=tar.zst'] }))?.set.packages.length, 4, 'output.format does not invalidate it');
    assert.throws(() => lockForBuild(loadConfig({ dir, env: {}, sets: ['packages.install+=curl'] })), (err: Error & { hint?: string; exitCode?: number }) => {
      assert.match(err.message, /^kiln\.lock no longer matches the configuration of debian bookworm amd64: packages\.install changed since the lock \(/);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.hint ?? '', /kiln lock --update/);
      assert.equal(err.exitCode, 2);
      return true;
    });
    assert.equal(lockForBuild(loadConfig({ dir, env: {}, sets: ['packages.install+=curl', 'lock.use=false'] })), undefined, 'lock.use = false ignores it');
    assert.throws(() => lockForBuild(loadConfig({ dir, env: {}, sets: ['distribution.architecture=arm64'] })), /kiln\.lock has no package set for debian bookworm arm64 \(it has debian bookworm amd64\)/);
  });
});

describe('snapshot URLs', () => {
  const date = Date.UTC(2024, 0, 5, 7, 8, 9) / 1000;
  test("Debian's snapshot layout and Arch's dated archive from the lock's date (UTC)", () => {
    assert.equal(snapshotMirror('http://127.0.0.1:1/archive/debian/%Y%m%dT%H%M%SZ/', date), 'http://127.0.0.1:1/archive/debian/20240105T070809Z');
    assert.equal(snapshotMirror('http://127.0.0.1:1/repos/%Y/%m/%d/$repo/os/$arch', date), 'http://127.0.0.1:1/repos/2024/01/05/$repo/os/$arch');
    assert.equal(snapshotMirror('http://127.0.0.1:1/100%%/%Y', date), 'http://127.0.0.1:1/100%/2024');
    assert.equal(snapshotMirror('', date), undefined);
    assert.throws(() => snapshotMirror('http://127.0.0.1:1/%q', date), /lock\.snapshot-mirror: %q is not a part of a date/);
  });

  test('a locked package is fetched from the mirror, then the snapshot; URLs are kept relative to the mirror', () => {
    assert.equal(relativeUrl('http://127.0.0.1:1/debian/pool/main/a/a.deb', 'http://127.0.0.1:1/debian/'), 'pool/main/a/a.deb');
    assert.equal(relativeUrl('http://127.0.0.1:2/other/a.deb', 'http://127.0.0.1:1/debian'), 'http://127.0.0.1:2/other/a.deb');
    assert.deepEqual(lockedUrls('pool/a.deb', 'http://m/debian/', 'http://s/20240105T070809Z'), ['http://m/debian/pool/a.deb', 'http://s/20240105T070809Z/pool/a.deb']);
    assert.deepEqual(lockedUrls('pool/a.deb', 'http://m/debian', undefined), ['http://m/debian/pool/a.deb']);
    assert.deepEqual(lockedUrls('http://elsewhere/a.deb', 'http://m/debian', 'http://s'), ['http://elsewhere/a.deb']);
  });
});
