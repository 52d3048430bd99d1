/**
 * kiln lock for Alpine, as the unprivileged user, from the apk fixture on
 * 127.0.0.1 (x86_64 only, base = "tiny"), with a tagged repository: an
 * `@edge` repository holds a newer kiln-printf (not used: nothing pins it)
 * and kiln-edgeonly, asked for as kiln-edgeonly@edge. The lock pins the set
 * with the index's C: checksums, the indexes' sha256 and the key's
 * fingerprint (checked with openssl); then main publishes kiln-printf
 * 1.1-r0 and drops 1.0-r0 (kept in a dated snapshot directory), and the
 * locked build installs exactly the locked set, reading no index, with the
 * same installed database an unlocked build wrote before. A changed
 * configuration is one line and exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLock, type LockedImage } from '../../src/lock/index.ts';
import { imageDir, integrationSkipReason, kiln, writeAs } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { APK_EPOCH, apkFixtureSkipReason, apkPackage, INDEX_DESCRIPTION, makeApkRepos, readableApkKeys, signerOf, writeApkRepo, type ApkRepos } from '../helpers/apk-fixture.ts';
import { buildApk, buildIndex, type ApkSigner, type ApkSpec } from '../helpers/apk-fixture-package.ts';
import { field, parseInstalled } from '../helpers/apk-fixture-db.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('kiln: error:'));

const printf = (version: string): ApkSpec => ({
  name: 'kiln-printf', version, arch: 'noarch', desc: `kiln fixture: a cmd: provider, ${version}`, provides: [`cmd:kiln-printf=${version}`],
  entries: [{ path: 'usr/bin/kiln-printf', type: 'file', data: Buffer.from(`#!/bin/sh\n# ${version}\nprintf "%s\\n" "$@"\n`), mode: 0o755 }],
});
const EDGE: ApkSpec[] = [
  printf('2.0-r0'),
  { name: 'kiln-edgeonly', version: '1.0-r0', arch: 'noarch', desc: 'kiln fixture: only in the @edge repository', depends: ['kiln-printf'], entries: [{ path: 'usr/share/kiln-edgeonly/README', type: 'file', data: Buffer.from('from edge\n'), mode: 0o644 }] },
];

describe('kiln lock with the Alpine fixture and a tagged repository', { skip: skipOrFail(integrationSkipReason() ?? apkFixtureSkipReason(['x86_64'])) }, () => {
  let work: string;
  let repos: ApkRepos;
  let mirror: Mirror;
  let keys: string;
  let signer: ApkSigner;
  const main = () => join(work, 'srv/mirror/alpine/v3.21/main/x86_64');
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-lock-apk-'));
    repos = await makeApkRepos(join(work, 'fixture'), { architectures: ['x86_64'] });
    cpSync(repos.root, join(work, 'srv/mirror'), { recursive: true });
    signer = signerOf({ name: repos.keyName, pem: repos.publicKey }, readFileSync(join(work, 'fixture/private', repos.keyName.replace(/\.pub$/, '')), 'utf8'));
    await writeApkRepo(join(work, 'srv/mirror/alpine/edge/testing/x86_64'), EDGE, signer);
    mirror = await startMirror(join(work, 'srv'));
    keys = readableApkKeys(repos.keysDir, 'lock');
  });
  after(async () => {
    await mirror?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(keys, { recursive: true, force: true });
  });

  const toml = (cache: string) =>
    `[distribution]\nname = "alpine"\nrelease = "v3.21"\narchitecture = "x86_64"\nmirror = "${mirror.url}/mirror/alpine"\nrepositories = ["main"]\nkeyring = ["${keys}"]\n` +
    `extra-repositories = [{ name = "edge-testing", server = "${mirror.url}/mirror/alpine/edge/testing", tag = "edge" }]\n\n` +
    `[packages]\nbase = "tiny"\ninstall = ["kiln-printf", "kiln-edgeonly@edge"]\n\n[output]\nformat = ["directory"]\n\n` +
    `[lock]\nsnapshot-mirror = "${mirror.url}/snapshot/%Y%m%d/$release/$repo/$arch"\n\n[build]\ncache-directory = "${cache}"\n`;

  /** main publishes kiln-printf 1.1-r0; 1.0-r0 moves to the snapshot's directory for the lock's date. */
  function publishNewer(locked: number): void {
    const built = buildApk(printf('1.1-r0'), signer, APK_EPOCH);
    writeFileSync(join(main(), built.built.filename), built.bytes);
    const packages = (repos.packages.x86_64 ?? []).map((p) => (p.name === 'kiln-printf' ? built.built : p));
    writeFileSync(join(main(), 'APKINDEX.tar.gz'), buildIndex(packages, INDEX_DESCRIPTION, signer, APK_EPOCH));
    const day = new Date(locked * 1000).toISOString().slice(0, 10).replaceAll('-', '');
    const snapshot = join(work, 'srv/snapshot', day, 'v3.21/main/x86_64');
    mkdirSync(snapshot, { recursive: true });
    renameSync(join(main(), 'kiln-printf-1.0-r0.apk'), join(snapshot, 'kiln-printf-1.0-r0.apk'));
    assert.doesNotMatch(readdirSync(main()).join(' '), /kiln-printf-1\.0-r0/);
  }

  test('the lock pins the set, the indexes and the key; the locked build installs it after the mirror moved on; a changed config is one line', async () => {
    const dir = imageDir(toml(imageDir()));
    const locked = await kiln(['lock', '-C', dir]);
    assert.equal(locked.code, 0, locked.stderr);
    const lock = parseLock(readFileSync(join(dir, 'kiln.lock'), 'utf8'), 'kiln.lock');
    const image = lock.images[0] as LockedImage;
    assert.equal(image.id, 'alpine v3.21 x86_64');
    const byName = new Map(image.packages.map((p) => [p.name, p]));
    assert.deepEqual([...byName.keys()].sort(), ['alpine-keys', 'apk-tools', 'busybox', 'kiln-edgeonly', 'kiln-printf', 'musl']);
    // kiln-printf from main (edge's 2.0-r0 is newer, but nothing pins it); kiln-edgeonly from the tagged repository.
    const p = byName.get('kiln-printf');
    assert.equal(p?.version, '1.0-r0');
    assert.equal(p?.url, 'kiln-printf-1.0-r0.apk', 'relative to its repository');
    assert.equal(p?.indexChecksum, apkPackage(repos, 'x86_64', 'kiln-printf').checksum, "the index's C:");
    assert.equal(p?.sha256, sha256(readFileSync(join(main(), 'kiln-printf-1.0-r0.apk'))));
    assert.deepEqual([p?.facts.repo, p?.facts.tag], ['main', undefined]);
    assert.deepEqual([byName.get('kiln-edgeonly')?.facts.repo, byName.get('kiln-edgeonly')?.facts.tag], ['edge-testing', 'edge']);
    const index = (d: string) => sha256(readFileSync(join(d, 'APKINDEX.tar.gz')));
    assert.deepEqual(image.repositoryIndexes, [`main sha256:${index(main())}`, `edge-testing sha256:${index(join(work, 'srv/mirror/alpine/edge/testing/x86_64'))}`]);
    // The key's fingerprint as openssl gives it: SHA-256 of its DER public key.
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', join(keys, repos.keyName), '-outform', 'DER']);
    assert.deepEqual(image.keyringFingerprints, [`${repos.keyName} sha256:${sha256(der)}`]);

    // The same set resolved afresh, before the mirror moves on: its database is what the locked build must write.
    const fresh = await kiln(['build', '-C', dir, '--no-lock']);
    assert.equal(fresh.code, 0, fresh.stderr);
    const freshDb = readFileSync(join(dir, 'out/image/lib/apk/db/installed'), 'utf8');

    publishNewer(image.locked);
    writeAs(join(dir, 'kiln.toml'), toml(imageDir()));
    const from = mirror.requests.length;
    const built = await kiln(['build', '-C', dir]);
    assert.equal(built.code, 0, built.stderr);
    const requests = mirror.requests.slice(from);
    assert.ok(!requests.some((r) => r.endsWith('APKINDEX.tar.gz')), `no index is read: ${requests.join(' ')}`);
    assert.ok(requests.includes(`/snapshot/${new Date(image.locked * 1000).toISOString().slice(0, 10).replaceAll('-', '')}/v3.21/main/x86_64/kiln-printf-1.0-r0.apk`), `the old version from the snapshot: ${requests.join(' ')}`);
    const root = join(dir, 'out/image');
    const db = readFileSync(join(root, 'lib/apk/db/installed'), 'utf8');
    assert.equal(db, freshDb, 'the installed database of the locked build is the one the resolved build wrote');
    const installed = parseInstalled(db);
    assert.deepEqual(installed.map((x) => `${field(x, 'P')}-${field(x, 'V')}`).sort(), image.packages.map((x) => `${x.name}-${x.version}`).sort(), 'exactly the locked set');
    assert.equal(field(installed.find((x) => field(x, 'P') === 'kiln-edgeonly') as (typeof installed)[number], 's'), 'edge', 'the tagged repository, as apk records it');
    assert.equal(field(installed.find((x) => field(x, 'P') === 'kiln-printf') as (typeof installed)[number], 's'), undefined);
    const script = createHash('sha1').update(readFileSync(join(root, 'usr/bin/kiln-printf'))).digest('hex');
    assert.equal(script, apkPackage(repos, 'x86_64', 'kiln-printf').files.find((f) => f.path === 'usr/bin/kiln-printf')?.sha1, "1.0-r0's file, not 1.1-r0's");
    assert.equal(readFileSync(join(root, 'etc/apk/repositories'), 'utf8'), `${mirror.url}/mirror/alpine/v3.21/main\n@edge ${mirror.url}/mirror/alpine/edge/testing\n`);
    const world = readFileSync(join(root, 'etc/apk/world'), 'utf8').trim().split('\n');
    assert.ok(world.includes('kiln-edgeonly@edge') && world.includes('kiln-printf'), world.join(' '));

    const changed = await kiln(['build', '-C', dir, '--set', 'packages.install+=docs', '--dry-run']);
    assert.equal(changed.code, 2, changed.stderr);
    const [mismatch, ...more] = errorLines(changed.stderr);
    assert.match(mismatch ?? '', /^kiln: error: kiln\.lock no longer matches the configuration of alpine v3\.21 x86_64: packages\.install changed since the lock \(.+\)$/);
    assert.deepEqual(more, []);
    const unlocked = await kiln(['build', '-C', dir, '--no-lock', '--dry-run']);
    assert.equal(unlocked.code, 0, unlocked.stderr);
    assert.match(unlocked.stdout, /^ {2}kiln-printf 1\.1-r0 /m, '--no-lock resolves afresh');
  });
  test('trust-first-download, locked: the warning in the build, the lock records the keys for the target architecture, the locked build checks them', async () => {
    const trusting = (cache: string) =>
      `[distribution]\nname = "alpine"\nrelease = "v3.21"\narchitecture = "x86_64"\nmirror = "${mirror.url}/mirror/alpine"\nrepositories = ["main"]\nkeyring = []\nkeyring-bootstrap = "trust-first-download"\n\n` +
      `[packages]\nbase = "tiny"\ninstall = ["kiln-printf"]\n\n[output]\nformat = ["directory"]\n\n[build]\ncache-directory = "${cache}"\n`;
    const cache = imageDir();
    const dir = imageDir(trusting(cache));
    const locked = await kiln(['lock', '-C', dir]);
    assert.equal(locked.code, 0, locked.stderr);
    assert.match(locked.stdout + locked.stderr, /trust-first-download: the apk keys were taken unverified from alpine-keys 2\.5-r0 \(.+alpine-keys-2\.5-r0\.apk\)/);
    const image = parseLock(readFileSync(join(dir, 'kiln.lock'), 'utf8'), 'kiln.lock').images[0] as LockedImage;
    // alpine-keys also lists the unknown key, for riscv64 only: the x86_64 lock records the trusted key alone (fingerprint as openssl gives it).
    const der = execFileSync('openssl', ['pkey', '-pubin', '-in', join(keys, repos.keyName), '-outform', 'DER']);
    assert.deepEqual(image.keyringFingerprints, [`${repos.keyName} sha256:${sha256(der)}`]);
    assert.ok(image.packages.some((p) => p.name === 'alpine-keys'), 'the keys package is in the locked set');

    const built = await kiln(['build', '-C', dir]);
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stdout + built.stderr, /trust-first-download: the apk keys were taken from alpine-keys as kiln\.lock pins it \(by sha256\)/, 'the warning is in the build');
    const root = join(dir, 'out/image');
    // The image's trust is alpine-keys' own layout: etc/apk/keys/NAME a symlink into usr/share/apk/keys.
    assert.equal(readlinkSync(join(root, 'etc/apk/keys', repos.keyName)), `../../../usr/share/apk/keys/${repos.keyName}`);
    assert.equal(readFileSync(join(root, 'etc/apk/keys', repos.keyName), 'utf8'), repos.publicKey);
    assert.deepEqual(readdirSync(join(root, 'etc/apk/keys')), [repos.keyName], 'no key of another architecture');
    const world = readFileSync(join(root, 'etc/apk/world'), 'utf8').trim().split('\n');
    assert.ok(world.includes('alpine-keys'), world.join(' '));

    // A lock whose recorded fingerprint is not the locked alpine-keys' key: the locked build refuses, one line.
    const text = readFileSync(join(dir, 'kiln.lock'), 'utf8');
    const forged = text.replace(sha256(der), sha256(Buffer.concat([der, Buffer.from('x')])));
    assert.notEqual(forged, text);
    writeAs(join(dir, 'kiln.lock'), forged);
    const refused = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(refused.code, 2, refused.stderr);
    const [line, ...more] = errorLines(refused.stderr);
    assert.match(line ?? '', new RegExp(`^kiln: error: kiln\\.lock: alpine-keys as locked holds keys the lock did not record \\(${repos.keyName.replace(/[.+]/g, '\\$&')} sha256:${sha256(der)}\\)$`));
    assert.deepEqual(more, []);
  });
});
