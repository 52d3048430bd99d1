/**
 * kiln lock, then kiln build, as the unprivileged user, from the local test
 * repositories on 127.0.0.1: the build installs exactly the locked set after
 * the mirror has published a newer version and dropped the old one (which is
 * then fetched from lock.snapshot-mirror's dated layout); a lock that no
 * longer matches the configuration, or whose sha256 the file does not have,
 * is one clear line and exit 2; kiln lock --update takes the new version.
 * The Arch fixture builds for real; the Debian fixture archive (whose tiny
 * packages cannot be configured) is checked up to the plan (--dry-run).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLock, type LockedImage } from '../../src/lock/index.ts';
import type { Manifest } from '../../src/outputs/index.ts';
import { imageDir, integrationSkipReason, kiln, writeAs } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { buildPackage, repoAdd } from '../helpers/fake-arch-package.ts';
import { readSecretKey } from '../helpers/fixture-keys.ts';
import { makeFakeArchive } from '../helpers/fake-debian.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';

function readLock(dir: string): LockedImage {
  const lock = parseLock(readFileSync(join(dir, 'kiln.lock'), 'utf8'), 'kiln.lock');
  assert.equal(lock.images.length, 1);
  return lock.images[0] as LockedImage;
}

const versionOf = (image: LockedImage, name: string) => image.packages.find((p) => p.name === name)?.version;
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('kiln: error:'));

/** The lock's date as the snapshot layout names its directory. */
function dated(locked: number, layout: (d: string[]) => string): string {
  const iso = new Date(locked * 1000).toISOString();
  return layout([iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10), iso.slice(11, 13), iso.slice(14, 16), iso.slice(17, 19)]);
}

describe('kiln lock with the Arch fixture', { skip: skipOrFail(integrationSkipReason() ?? fakeArchSkipReason(['x86_64']) ?? missingTools(['repo-add', 'bsdtar'])) }, () => {
  let work: string;
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let keyring: string;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-lock-arch-'));
    repos = await makeFakeArchRepos(join(work, 'fixture'), { architectures: ['x86_64'] });
    cpSync(repos.root, join(work, 'srv/mirror'), { recursive: true, verbatimSymlinks: true });
    mirror = await startMirror(join(work, 'srv'));
    keyring = readableKeyring(repos, 'lock');
  });
  after(async () => {
    await mirror?.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(join(keyring, '..'), { recursive: true, force: true });
  });

  const toml = (cache: string) =>
    `[distribution]\nname = "archlinux"\narchitecture = "x86_64"\nmirror = "${mirror.url}/mirror/$repo/os/$arch"\nkeyring = ["${keyring}"]\n\n[packages]\ninstall = ["kiln-extra-tool"]\n\n` +
    `[output]\nformat = ["directory"]\n\n[lock]\nsnapshot-mirror = "${mirror.url}/snapshot/%Y/%m/%d/$repo/os/$arch"\n\n[build]\ncache-directory = "${cache}"\n`;

  /** Publishes kiln-extra-tool 2.1-4 in extra and moves 2.1-3 (and its signature) from the mirror to the snapshot's dated directory. */
  async function publishNewer(locked: number): Promise<void> {
    const repoDir = join(work, 'srv/mirror/extra/os/x86_64');
    const secret = await readSecretKey(join(work, 'fixture/keys'), 'packager');
    const spec = { name: 'kiln-extra-tool', version: '2.1-4', arch: 'any' as const, desc: 'A second member of kiln-group, newer', repo: { arch: 'extra', alarm: 'extra' }, groups: ['kiln-group'], tree: { 'usr/share/kiln-extra-tool/README': { text: 'extra tool, newer\n' } } };
    const built = await buildPackage(spec, join(work, 'stage'), repoDir, () => Promise.reject(new Error('no debs')), { secret, armored: '', fingerprint: '' });
    await repoAdd(repoDir, 'extra', [built.filename]);
    const snapshot = join(work, 'srv/snapshot', dated(locked, ([y, m, d]) => `${y}/${m}/${d}`), 'extra/os/x86_64');
    mkdirSync(snapshot, { recursive: true });
    for (const f of ['kiln-extra-tool-2.1-3-any.pkg.tar.zst', 'kiln-extra-tool-2.1-3-any.pkg.tar.zst.sig']) renameSync(join(repoDir, f), join(snapshot, f));
    assert.doesNotMatch(readdirSync(repoDir).join(' '), /2\.1-3/);
  }

  test('the build installs exactly the locked set after the mirror moved on; a changed config or a wrong sha256 is one line; --update takes the new version', async () => {
    const dir = imageDir(toml(imageDir()));
    const locked = await kiln(['lock', '-C', dir]);
    assert.equal(locked.code, 0, locked.stderr);
    const before = readLock(dir);
    assert.equal(versionOf(before, 'kiln-extra-tool'), '2.1-3');
    assert.deepEqual(before.keyringFingerprints, [repos.keyFingerprint]);
    assert.equal(before.packages.find((p) => p.name === 'kiln-extra-tool')?.url, 'kiln-extra-tool-2.1-3-any.pkg.tar.zst', 'relative to its repository');
    const again = await kiln(['lock', '-C', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /up to date/);

    await publishNewer(before.locked);
    // A cache of its own: nothing of the set is cached, every package comes from the mirror or the snapshot.
    writeAs(join(dir, 'kiln.toml'), toml(imageDir()));
    const from = mirror.requests.length;
    const built = await kiln(['build', '-C', dir]);
    assert.equal(built.code, 0, built.stderr);
    const requests = mirror.requests.slice(from);
    assert.ok(!requests.some((r) => r.endsWith('.db')), `no database is read: ${requests.join(' ')}`);
    assert.ok(requests.some((r) => r.startsWith('/snapshot/') && r.endsWith('/extra/os/x86_64/kiln-extra-tool-2.1-3-any.pkg.tar.zst')), `the old version from the snapshot: ${requests.join(' ')}`);
    const local = readdirSync(join(dir, 'out/image/var/lib/pacman/local')).filter((n) => n !== 'ALPM_DB_VERSION').sort();
    assert.deepEqual(local, before.packages.map((p) => `${p.name}-${p.version}`).sort(), 'exactly the locked set');
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.lock?.configDigest, before.configDigest);
    // The CycloneDX SBOM beside it: valid 1.6, the locked packages with their alpm package URLs (the files no package owns besides them).
    const bom = JSON.parse(readFileSync(join(dir, 'out/image.cdx.json'), 'utf8')) as { components: { type: string; purl?: string }[] };
    assert.deepEqual(cyclonedxProblems(bom), []);
    assert.ok(bom.components.some((c) => c.type === 'file'));
    assert.deepEqual(bom.components.filter((c) => c.type !== 'file').map((c) => c.purl).sort(), before.packages.map((p) => `pkg:alpm/archlinux/${p.name}@${encodeURIComponent(p.version)}?arch=${p.architecture}`).sort());

    const changed = await kiln(['build', '-C', dir, '--set', 'packages.install+=kiln-marks', '--dry-run']);
    assert.equal(changed.code, 2, changed.stderr);
    const [mismatch, ...more] = errorLines(changed.stderr);
    assert.match(mismatch ?? '', /^kiln: error: kiln\.lock no longer matches the configuration of archlinux \S+ x86_64: packages\.install changed since the lock \(.+\)$/);
    assert.deepEqual(more, []);
    assert.match(changed.stderr, /^hint: run kiln lock --update/m);
    const unlocked = await kiln(['build', '-C', dir, '--no-lock', '--dry-run']);
    assert.equal(unlocked.code, 0, unlocked.stderr);
    assert.match(unlocked.stdout, /^ {2}kiln-extra-tool 2\.1-4 /m, '--no-lock resolves afresh');

    const text = readFileSync(join(dir, 'kiln.lock'), 'utf8');
    const real = before.packages.find((p) => p.name === 'bash')?.sha256 as string;
    writeAs(join(dir, 'kiln.lock'), text.replace(real, 'ab'.repeat(32)));
    writeAs(join(dir, 'kiln.toml'), toml(imageDir()));
    const wrong = await kiln(['build', '-C', dir]);
    assert.equal(wrong.code, 2, wrong.stderr);
    const [line] = errorLines(wrong.stderr);
    assert.ok(line && line.includes('bash') && line.includes('ab'.repeat(32)) && line.includes(real), wrong.stderr);

    writeAs(join(dir, 'kiln.lock'), text);
    const updated = await kiln(['lock', '-C', dir, '--update']);
    assert.equal(updated.code, 0, updated.stderr);
    const after = readLock(dir);
    assert.equal(versionOf(after, 'kiln-extra-tool'), '2.1-4');
    const changedLines = readFileSync(join(dir, 'kiln.lock'), 'utf8').split('\n').filter((l) => !text.split('\n').includes(l));
    assert.ok(changedLines.every((l) => /kiln-extra-tool|^locked = /.test(l)), `only the changed package and the date: ${changedLines.join('\n')}`);
  });
});

describe('kiln lock with the Debian fixture archive', { skip: skipOrFail(integrationSkipReason() ?? missingTools(['dpkg-deb', 'xz'])) }, () => {
  let work: string;
  let mirror: Mirror;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-lock-deb-'));
    chmodSync(work, 0o755);
    mirror = await startMirror(work);
  });
  after(async () => {
    await mirror?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('the plan is the locked set after the archive published a newer version; --update takes it', async () => {
    const archive = await makeFakeArchive(join(work, 'v1'), { packages: [{ name: 'tiny' }, { name: 'tiny-lib', version: '2.1-3', essential: false }] });
    renameSync(archive.root, join(work, 'debian'));
    const keyring = join(work, 'archive-key.asc');
    cpSync(archive.keyring, keyring);
    const toml = `[distribution]\nname = "debian"\nrelease = "${archive.suite}"\narchitecture = "amd64"\nmirror = "${mirror.url}/debian"\nkeyring = ["${keyring}"]\n\n[packages]\nbase = "none"\ninstall = ["tiny", "tiny-lib"]\n\n[lock]\nsnapshot-mirror = "${mirror.url}/snapshot/%Y%m%dT%H%M%SZ"\n`;
    const dir = imageDir(toml);
    const locked = await kiln(['lock', '-C', dir]);
    assert.equal(locked.code, 0, locked.stderr);
    const image = readLock(dir);
    assert.equal(versionOf(image, 'tiny-lib'), '2.1-3');
    assert.equal(image.packages.find((p) => p.name === 'tiny-lib')?.url, 'pool/main/t/tiny-lib/tiny-lib_2.1-3_all.deb');
    assert.equal(image.keyringFingerprints.length, 1);
    assert.deepEqual(image.mirrors, [`${mirror.url}/debian`]);

    // The archive moves on: tiny-lib 2.2-1 (signed by a new key at the same path), 2.1-3 only in the snapshot.
    const next = await makeFakeArchive(join(work, 'v2'), { packages: [{ name: 'tiny' }, { name: 'tiny-lib', version: '2.2-1', essential: false }] });
    const snapshot = join(work, 'snapshot', dated(image.locked, ([y, m, d, H, M, S]) => `${y}${m}${d}T${H}${M}${S}Z`));
    mkdirSync(snapshot, { recursive: true });
    renameSync(join(work, 'debian'), join(snapshot, 'old'));
    cpSync(join(snapshot, 'old/pool'), join(snapshot, 'pool'), { recursive: true });
    rmSync(join(snapshot, 'old'), { recursive: true });
    renameSync(next.root, join(work, 'debian'));
    cpSync(next.keyring, keyring);
    const plan = await kiln(['build', '-C', dir, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^ {2}tiny-lib 2\.1-3 +all .*\(kiln\.lock\)$/m);
    assert.doesNotMatch(plan.stdout, /2\.2-1/);
    const fresh = await kiln(['build', '-C', dir, '--dry-run', '--no-lock']);
    assert.match(fresh.stdout, /^ {2}tiny-lib 2\.2-1 /m);

    writeAs(join(dir, 'kiln.toml'), toml.replace('install = ["tiny", "tiny-lib"]', 'install = ["tiny"]'));
    const changed = await kiln(['build', '-C', dir, '--dry-run']);
    assert.equal(changed.code, 2, changed.stderr);
    assert.match(errorLines(changed.stderr).join('\n'), /^kiln: error: kiln\.lock no longer matches the configuration of debian kilntest amd64: packages\.install changed since the lock \((?:.*\/)?kiln\.toml:\d+\)$/);
    writeAs(join(dir, 'kiln.toml'), toml);

    const updated = await kiln(['lock', '-C', dir, '--update']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(versionOf(readLock(dir), 'tiny-lib'), '2.2-1');
    assert.notDeepEqual(readLock(dir).keyringFingerprints, image.keyringFingerprints, 'the new key');
  });
});
