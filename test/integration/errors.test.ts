/**
 * Every kind of user mistake gets one clear line and exit status 2, through
 * the real CLI, as the unprivileged test user.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER, unusedPort, writeAs } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { makeFakeArchive, releaseDate, type FakeArchive, type ReleaseFields } from '../helpers/fake-debian.ts';

const skip = skipOrFail(integrationSkipReason());

/** One error line (plus an optional hint line), exit 2, no stack trace. */
function assertUserError(r: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 2, `exit status 2 expected, got ${r.code}\n${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('kiln: error: '));
  assert.equal(errors.length, 1, `exactly one error line expected:\n${r.stderr}`);
  assert.match(errors[0] ?? '', pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .+\(.*:\d+:\d+\)/, 'no stack trace without --debug');
}

describe('user errors', { skip }, () => {
  let mirror: Mirror;
  let archive: FakeArchive;
  let work: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-fake-archive-'));
    chmodSync(work, 0o755);
    archive = await makeFakeArchive(work);
    mirror = await startMirror(archive.root);
  });
  after(() => mirror?.close());

  const fakeToml = (extra = '') =>
    `[distribution]\nname = "debian"\nrelease = "kilntest"\narchitecture = "amd64"\nmirror = "${mirror.url}"\nkeyring = ["${archive.keyring}"]\n${extra}\n[packages]\nbase = "essential"\n`;

  test('a bad kiln.toml: unknown key and wrong type, with file:line', async () => {
    const dir = imageDir('[distribution]\nname = "debian"\nrelase = "bookworm"\n\n[packages]\ninstall = "vim"\n');
    const r = await kiln(['build', '-C', dir]);
    assertUserError(r, /kiln\.toml:3: distribution\.relase: unknown setting; did you mean distribution\.release/);
    assert.match(r.stderr, /kiln\.toml:6: packages\.install: expected a list of strings/);
  });

  test('an output name that leaves the output directory', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml('[output]\nname = "../../escaped"\n'))]);
    assertUserError(r, /kiln\.toml:8: output\.name: "\.\.\/\.\.\/escaped" is not a file name: it contains "\/"/);
  });

  test('an inline hook name that is a path', async () => {
    const r = await kiln(['build', '-C', imageDir(`${fakeToml()}\n[[hook]]\nstage = "customize"\nname = "../../../../tmp/kiln-hook-escape"\nrun = "true"\n`)]);
    assertUserError(r, /kiln\.toml:13: hooks\.inline: item 1: name: "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/kiln-hook-escape" is not a file name/);
  });

  test('a host name with a newline', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml('[system]\nhostname = "box\\n10.0.0.1 evil"\n'))]);
    assertUserError(r, /kiln\.toml:8: system\.hostname: "box\\n10\.0\.0\.1 evil" is not a host name/);
  });

  test('a [[user]] with uid 0, and one with a name useradd refuses', async () => {
    const r = await kiln(['build', '-C', imageDir(`${fakeToml()}\n[[user]]\nname = "pi"\nuid = 0\n`)]);
    assertUserError(r, /kiln\.toml:13: users\.accounts: item 1: uid: uid 0 is the root user's/);
    const named = await kiln(['build', '-C', imageDir(`${fakeToml()}\n[[user]]\nname = "Pi User"\n`)]);
    assertUserError(named, /kiln\.toml:12: users\.accounts: item 1: name: "Pi User" is not a user or group name/);
  });

  test('an overlay with a file that cannot be read', async () => {
    const dir = imageDir(fakeToml('[overlay]\nextra = "files"\n'));
    writeAs(join(dir, 'files/etc/secret'), 'x\n');
    chmodSync(join(dir, 'files/etc/secret'), 0o000);
    const r = await kiln(['build', '-C', dir]);
    assertUserError(r, /kiln\.toml:8: overlay\.extra: cannot read \S*files\/etc\/secret: permission denied/);
  });

  test('an unknown nested table is named whole at its own line', async () => {
    const r = await kiln(['build', '-C', imageDir(`${fakeToml()}\n[system.foo.bar]\nx = 1\n`)]);
    assertUserError(r, /kiln\.toml:11: system\.foo\.bar: unknown setting/);
  });

  test('10 MB of unknown keys: the first 50 problems and a count, quickly', { timeout: 180_000 }, async () => {
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 10e6; i++) {
      const line = `key${String(i).padStart(7, '0')} = 1`;
      lines.push(line);
      size += line.length + 1;
    }
    const r = await kiln(['config', '-C', imageDir(`${fakeToml()}[system]\n${lines.join('\n')}\n`)], { timeoutMs: 150_000 });
    assertUserError(r, /kiln\.toml:11: system\.key0000000: unknown setting/);
    const shown = r.stderr.split('\n').filter((l) => /: unknown setting/.test(l));
    assert.equal(shown.length, 50, r.stderr.slice(0, 2000));
    assert.match(r.stderr, new RegExp(`^\\.\\.\\. and ${lines.length - 50} more problems not shown$`, 'm'));
    assert.match(r.stderr, new RegExp(`^hint: ${lines.length} problems in the configuration; the first 50 are shown$`, 'm'));
  });

  test('a mirror that is not an http or https URL', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml().replace(/^mirror = .*$/m, 'mirror = "ftp://127.0.0.1/debian"'))]);
    assertUserError(r, /kiln\.toml:5: distribution\.mirror: "ftp:\/\/127\.0\.0\.1\/debian": kiln fetches from http and https mirrors, not ftp/);
  });

  test('a keyring file that cannot be read', async () => {
    const dir = imageDir();
    writeAs(join(dir, 'keys/archive.gpg'), 'never read\n');
    chmodSync(join(dir, 'keys/archive.gpg'), 0o000);
    writeAs(join(dir, 'kiln.toml'), fakeToml().replace(/^keyring = .*$/m, 'keyring = ["keys/archive.gpg"]'));
    const r = await kiln(['build', '-C', dir]);
    assertUserError(r, /kiln\.toml:6: distribution\.keyring: cannot read keys\/archive\.gpg: permission denied/);
  });

  test('a TOML syntax error', async () => {
    const r = await kiln(['config', '-C', imageDir('[distribution\nname = 1\n')]);
    assertUserError(r, /kiln\.toml:1:\d+: /);
  });

  test('an unknown architecture', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml()), '--arch', 'sparc']);
    assertUserError(r, /distribution\.architecture: unknown architecture "sparc" for Debian; known: amd64/);
  });

  test('the fake archive itself is accepted (so the refusals below are about one fault each)', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}tiny 1\.0 +all /m);
  });

  test('an unknown package is named, with close names suggested', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run', '--set', 'packages.install=tinny']);
    assertUserError(r, /unknown package "tinny"/);
    assert.match(r.stderr, /tiny/);
  });

  test('an unreachable mirror', async () => {
    const port = await unusedPort();
    const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run', '--set', `distribution.mirror=http://127.0.0.1:${port}/debian`]);
    assertUserError(r, new RegExp(`cannot reach mirror http://127\\.0\\.0\\.1:${port}: connection refused`));
  });

  test('a release that does not exist at the mirror', async () => {
    const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run', '--release', 'nosuch']);
    assertUserError(r, /no release "nosuch" at this mirror/);
  });

  test('a Release signed by a key that is not in the keyring', async () => {
    const toml = fakeToml().replace(/keyring = .*\n/, 'keyring = ["/usr/share/keyrings/debian-archive-keyring.gpg"]\n');
    const r = await kiln(['build', '-C', imageDir(toml), '--dry-run']);
    assertUserError(r, /signature check failed for http:\/\/127\.0\.0\.1:\d+\/dists\/kilntest\/InRelease/);
  });

  test('a tampered Release fails its signature', async () => {
    const path = join(archive.root, 'dists/kilntest/InRelease');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace('Origin: kiln', 'Origin: evil'));
    try {
      const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run']);
      assertUserError(r, /signature check failed/);
    } finally {
      writeFileSync(path, good);
    }
  });

  test('a Packages index that does not match the signed Release', async () => {
    mirror.faults['/dists/kilntest/main/binary-amd64/Packages.xz'] = { corrupt: true };
    try {
      const r = await kiln(['build', '-C', imageDir(fakeToml()), '--dry-run', '--set', `build.cache-directory=${freshCache()}`]);
      assertUserError(r, /main\/binary-amd64\/Packages\.xz/);
    } finally {
      delete mirror.faults['/dists/kilntest/main/binary-amd64/Packages.xz'];
    }
  });

  test('a package that does not match its checksum', async () => {
    mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'] = { corrupt: true };
    try {
      const r = await kiln(['build', '-C', imageDir(fakeToml()), '--set', `build.cache-directory=${freshCache()}`]);
      assertUserError(r, /mirror served a corrupt file: tiny from .*tiny_1\.0_all\.deb: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
    } finally {
      delete mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'];
    }
  });

  /** A build (dry run) against a fake archive of its own whose signed Release says `fields`. */
  async function dryRunWithRelease(fields: ReleaseFields, ...args: string[]) {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-fake-archive-'));
    chmodSync(dir, 0o755);
    const other = await makeFakeArchive(dir, { release: fields });
    const server = await startMirror(other.root);
    try {
      const toml = fakeToml().replace(mirror.url, server.url).replace(archive.keyring, other.keyring);
      return await kiln(['build', '-C', imageDir(toml), '--dry-run', ...args]);
    } finally {
      await server.close();
    }
  }
  const daysFromNow = (days: number) => releaseDate(new Date(Date.now() + days * 86_400_000));

  test('a correctly signed Release whose Valid-Until has passed is refused', async () => {
    const r = await dryRunWithRelease({ date: daysFromNow(-737), validUntil: daysFromNow(-730) });
    assertUserError(r, /dists\/kilntest\/InRelease expired on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(Valid-Until, 2 years ago\)/);
    assert.match(r.stderr, /hint: .*distribution\.check-valid-until = false/);
  });

  test('distribution.check-valid-until = false accepts an expired Release, with a warning', async () => {
    const r = await dryRunWithRelease({ date: daysFromNow(-737), validUntil: daysFromNow(-730) }, '--set', 'distribution.check-valid-until=false');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /InRelease expired on .*; accepted because distribution\.check-valid-until = false/);
    assert.match(r.stdout, /^ {2}tiny 1\.0 +all /m);
  });

  test('a Release of another suite under the name asked for is refused', async () => {
    const r = await dryRunWithRelease({ suite: 'testing', codename: 'trixie' });
    assertUserError(r, /InRelease is not the release asked for: distribution\.release is "kilntest", the Release says Suite: testing, Codename: trixie/);
  });

  test('a Release whose Suite or Codename is the release asked for is accepted', async () => {
    const r = await dryRunWithRelease({ suite: 'testing' });
    assert.equal(r.code, 0, r.stderr);
  });

  test('a Release dated in the future is refused, unless distribution.check-date = false', async () => {
    const r = await dryRunWithRelease({ date: daysFromNow(3) });
    assertUserError(r, /InRelease is not valid yet: dated .*, 3 days ahead of this machine's clock/);
    const allowed = await dryRunWithRelease({ date: daysFromNow(3) }, '--set', 'distribution.check-date=false');
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /date checks are OFF \(distribution\.check-date = false\)/);
  });

  test('a mirror that trickles a byte every 2 s is given up, naming the file and the mirror', { timeout: 120_000 }, async () => {
    mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'] = { trickle: { chunkBytes: 1, intervalMs: 2_000 } };
    try {
      const limits = ['--set', 'build.download-min-rate=100', '--set', 'build.download-min-rate-window=3s'];
      const r = await kiln(['build', '-C', imageDir(fakeToml()), '--set', `build.cache-directory=${freshCache()}`, ...limits]);
      assertUserError(r, /^kiln: error: mirror http:\/\/127\.0\.0\.1:\d+ is too slow for tiny: slower than 100 B\/s for 3 s \(http:\/\/127\.0\.0\.1:\d+\/pool\/main\/t\/tiny\/tiny_1\.0_all\.deb\)$/);
      assert.match(r.stderr, /hint: .*build\.download-min-rate/);
    } finally {
      delete mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'];
    }
  });

  test('a download that takes longer than build.download-timeout is given up, naming the file and the mirror', { timeout: 120_000 }, async () => {
    // 100 bytes a second: above the minimum rate set here, but the whole package takes several seconds.
    mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'] = { trickle: { chunkBytes: 20, intervalMs: 200 } };
    try {
      const limits = ['--set', 'build.download-min-rate=10', '--set', 'build.download-min-rate-window=1s', '--set', 'build.download-timeout=2s'];
      const r = await kiln(['build', '-C', imageDir(fakeToml()), '--set', `build.cache-directory=${freshCache()}`, ...limits]);
      assertUserError(r, /^kiln: error: download of tiny from mirror http:\/\/127\.0\.0\.1:\d+ took longer than 2 s in all \(http:\/\/127\.0\.0\.1:\d+\/pool\/main\/t\/tiny\/tiny_1\.0_all\.deb\)$/);
    } finally {
      delete mirror.faults['/pool/main/t/tiny/tiny_1.0_all.deb'];
    }
  });

  test('a user without subordinate ids is told the exact lines to add', { skip: !isRoot && 'needs root to create a user without subordinate ids' }, async () => {
    const user = 'kilnnosubid';
    // A system user: useradd gives ordinary users subordinate ranges by itself.
    if (spawnSync('id', [user]).status !== 0) spawnSync('useradd', ['--system', '--create-home', '--home-dir', `/home/${user}`, user]);
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((l) => !l.startsWith(`${user}:`)).join('\n'));
    }
    const r = await kiln(['build', '-C', imageDir(fakeToml(), user)], { user });
    assertUserError(r, new RegExp(`add "${user}:100000:65536" to /etc/subuid and "${user}:100000:65536" to /etc/subgid`));
  });

  test('user namespaces disabled', async () => {
    // Switch them off for a moment where this machine lets root do so; otherwise stand in an
    // `unshare` that fails exactly as util-linux's does when the kernel refuses (EPERM).
    const sysctl = '/proc/sys/user/max_user_namespaces';
    const before = readFileSync(sysctl, 'utf8').trim();
    let env: Record<string, string> | undefined;
    try {
      writeFileSync(sysctl, '0');
    } catch {
      const bin = mkdtempSync(join(tmpdir(), 'kiln-fake-unshare-'));
      chmodSync(bin, 0o755);
      writeFileSync(join(bin, 'unshare'), '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n', { mode: 0o755 });
      env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin` };
    }
    try {
      const r = await kiln(['build', '-C', imageDir(fakeToml())], { env });
      assertUserError(r, /cannot create a user namespace/);
      assert.match(r.stderr, /hint: unprivileged user namespaces look disabled/);
    } finally {
      if (!env) writeFileSync(sysctl, before);
    }
  });
});

function freshCache(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cache-'));
  chmodSync(dir, 0o755);
  if (isRoot) spawnSync('chown', [`${TEST_USER}:`, dir]);
  return dir;
}

