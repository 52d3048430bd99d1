/**
 * kiln.lock for apk without a mirror: a plan's packages written as the lock
 * keeps them and read back give the same index records (what the installed
 * database is written from), in apk's install order for the world whatever
 * the lock's (sorted) order, from the repositories and tags configured; a
 * lock whose world no longer needs a package, or that names a repository
 * the configuration lacks, is one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apkLocking, lockedApkPackages } from '../../src/formats/apk/lock.ts';
import type { ApkInstallPlan } from '../../src/formats/apk/plan.ts';
import type { ApkSource } from '../../src/formats/apk/sources.ts';
import type { ApkPackage } from '../../src/formats/apk/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { byName } from '../../src/lock/text.ts';

const SOURCES: ApkSource[] = [
  { name: 'main', url: 'http://127.0.0.1:9/alpine/v3.21/main/x86_64', line: 'http://127.0.0.1:9/alpine/v3.21/main', signed: true, third: false },
  { name: 'edge', url: 'http://127.0.0.1:9/alpine/edge/testing/x86_64', line: '@edge http://127.0.0.1:9/alpine/edge/testing', tag: 'edge', signed: true, third: true },
];

function record(name: string, version: string, repo: string, f: Partial<ApkPackage> = {}): ApkPackage {
  return { repo, checksum: `Q1${name}=`, name, version, arch: 'x86_64', size: 100, installedSize: 400, description: `${name}: a test`, url: 'https://example.invalid/', license: 'MIT', depends: [], provides: [], installIf: [], ...f };
}

const RECORDS = [
  record('zapp', '1.0-r0', 'edge', { depends: ['so:libm.so.1', 'busybox'], origin: 'zapp-src', buildTime: 1_735_689_600, commit: 'abc', maintainer: 'A <a@example.invalid>' }),
  record('libm', '2.1-r3', 'main', { provides: ['so:libm.so.1=1'], providerPriority: 5 }),
  record('busybox', '1.37.0-r12', 'main', { provides: ['cmd:sh=1.37.0-r12', '/bin/sh'] }),
  record('zapp-doc', '1.0-r0', 'edge', { installIf: ['zapp=1.0-r0', 'docs'] }),
  record('docs', '0.2-r6', 'main'),
];

/** The plan kiln resolved: dependencies first. */
function plan(): ApkInstallPlan {
  const order = ['libm', 'busybox', 'zapp', 'docs', 'zapp-doc'];
  const packages = order.map((n) => {
    const r = RECORDS.find((x) => x.name === n) as ApkPackage;
    const source = SOURCES.find((s) => s.name === r.repo) as ApkSource;
    return { name: r.name, version: r.version, architecture: r.arch, size: r.size, installedSize: r.installedSize, sha256: 'ab'.repeat(32), urls: [`${source.url}/${r.name}-${r.version}.apk`], reason: 'requested', extra: { repo: r.repo, ...(source.tag ? { tag: source.tag } : {}), checksum: r.checksum, record: r } };
  });
  return { format: 'apk', packages, repositoryDate: 1, warnings: [], extra: { architecture: 'x86_64', sources: SOURCES, world: ['zapp@edge', 'docs'], keys: [], unverified: [], indexes: [{ repo: 'main', sha256: 'cd'.repeat(32) }] } };
}

const WORLD = ['docs', 'zapp@edge'];

test('written and read back: the same records, URLs below their repository, in apk\'s order for the world', () => {
  const locked = apkLocking.lockedPackages(plan()).sort(byName);
  const zapp = locked.find((p) => p.name === 'zapp');
  assert.equal(zapp?.url, 'zapp-1.0-r0.apk');
  assert.equal(zapp?.indexChecksum, 'Q1zapp=');
  assert.deepEqual([zapp?.facts.repo, zapp?.facts.tag, zapp?.facts.depends], ['edge', 'edge', 'so:libm.so.1 busybox']);
  assert.deepEqual(apkLocking.indexChecksums?.(plan()), [`main sha256:${'cd'.repeat(32)}`]);
  const back = lockedApkPackages({ packages: locked, repositoryDate: 1, snapshotMirror: 'http://127.0.0.1:9/snap/20250101/$release/$repo/$arch' }, SOURCES, WORLD, 'v3.21', 'x86_64');
  const names = back.map((p) => p.name);
  for (const [dep, of] of [['libm', 'zapp'], ['busybox', 'zapp'], ['zapp', 'zapp-doc'], ['docs', 'zapp-doc']]) assert.ok(names.indexOf(dep as string) < names.indexOf(of as string), `${dep} before ${of}: ${names.join(' ')}`);
  for (const p of back) {
    const original = RECORDS.find((r) => r.name === p.name);
    assert.deepEqual(p.extra.record, original, `${p.name}'s record`);
    assert.equal(p.reason, 'kiln.lock');
  }
  const z = back.find((p) => p.name === 'zapp');
  assert.equal(z?.extra.tag, 'edge');
  assert.deepEqual(z?.urls, ['http://127.0.0.1:9/alpine/edge/testing/x86_64/zapp-1.0-r0.apk', 'http://127.0.0.1:9/snap/20250101/v3.21/edge/x86_64/zapp-1.0-r0.apk']);
});

test('a lock that does not fit the configuration: one line', () => {
  const locked = apkLocking.lockedPackages(plan());
  const set = { packages: locked, repositoryDate: 1 };
  assert.throws(() => lockedApkPackages(set, SOURCES, ['zapp@edge'], 'v3.21', 'x86_64'), (e: unknown) => e instanceof UserError && e.message === 'kiln.lock: the world no longer pulls in docs, zapp-doc');
  assert.throws(() => lockedApkPackages(set, SOURCES.slice(0, 1), WORLD, 'v3.21', 'x86_64'), /zapp comes from repository "edge", which the configuration does not have/);
});
