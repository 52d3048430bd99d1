/**
 * Real Debian bookworm images from the host's configured mirror, built as the
 * unprivileged test user, checked with Debian's own tools inside the image
 * and against mmdebstrap's package set.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { elfMagic, hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const toml = (arch: string, formats: string[], extra = '') =>
  `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "${arch}"\nmirror = "${mirror}"\n\n[packages]\nbase = "minimal"\n${extra}\n[output]\nformat = ${JSON.stringify(formats)}\n`;

/** Runs a shell command inside the built image with kiln shell; returns stdout. */
async function inImage(dir: string, script: string): Promise<string> {
  const r = await kiln(['shell', '-C', dir, '--', '/bin/sh', '-c', script]);
  assert.equal(r.code, 0, `kiln shell failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

const AARCH64_MAGIC = '7f454c460201010000000000000000000200b700';

/** The host's binfmt_misc entry for aarch64, if there is one. */
function hostBinfmt(): string | undefined {
  const dir = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(`${dir}/status`)) return undefined;
  return readdirSync(dir).find((n) => n !== 'status' && n !== 'register' && readFileSync(join(dir, n), 'utf8').includes(`magic ${AARCH64_MAGIC}`));
}

/** Registers QEMU for aarch64 on the host (as the host's binfmt-support would), for the fallback test. */
function registerHostBinfmt(): string {
  const dir = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(`${dir}/status`)) spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir]);
  const { magic, mask } = elfMagic('aarch64');
  writeFileSync(`${dir}/register`, `:kiln-test-aarch64:M::${magic}:${mask}:/usr/bin/qemu-aarch64-static:F`);
  return 'kiln-test-aarch64';
}

async function assertHealthyDebian(dir: string): Promise<string[]> {
  const out = await inImage(dir, 'dpkg --audit; echo "audit=$?"; dpkg-query -W -f "\\${db:Status-Abbrev}|\\${Package}\\n"; apt-get check >/dev/null && echo apt-check=ok');
  assert.match(out, /^audit=0$/m);
  const lines = out.split('\n').filter((l) => l.includes('|'));
  assert.ok(lines.length > 50, out);
  const notInstalled = lines.filter((l) => !l.startsWith('ii |'));
  assert.deepEqual(notInstalled, [], 'every package is ii');
  assert.match(out, /^apt-check=ok$/m);
  return lines.map((l) => l.split('|')[1] as string).sort();
}

describe('Debian bookworm, rootless', { skip }, () => {
  describe('amd64 minimal + iputils-ping', () => {
    let dir: string;
    let build: { code: number; stderr: string };
    before(async () => {
      dir = imageDir(toml('amd64', ['directory', 'tar'], 'install = ["iputils-ping"]\n\n[system]\nhostname = "kiln-amd64"\nroot-password = "correct horse"\n'));
      build = await kiln(['build', '-C', dir]);
    });

    test('the tar output unpacks (as root) to the same tree as the directory output (checked before any kiln shell touches it), owners and capabilities included', { skip: !isRoot && 'extracting owners needs root' }, () => {
      const x = mkdtempSync(join(tmpdir(), 'kiln-untar-'));
      assert.equal(build.code, 0, build.stderr);
      const untar = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', join(dir, 'out/image.tar'), '-C', x]);
      assert.equal(untar.status, 0, String(untar.stderr));
      const listing = (root: string) =>
        spawnSync('sh', ['-c', 'cd "$1" && find . -printf "%p %y %U %G %m %s %l\\n" | LC_ALL=C sort', 'sh', root], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
      // The directory output's owners are as the host sees them: the test user for the
      // namespace's root, the subordinate range for the other ids. The tar has the ids of inside.
      const uid = Number(spawnSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).stdout);
      const gid = Number(spawnSync('id', ['-g', TEST_USER], { encoding: 'utf8' }).stdout);
      const sub = (file: string) => Number(readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${TEST_USER}:`))?.split(':')[1]);
      const [subuid, subgid] = [sub('/etc/subuid'), sub('/etc/subgid')];
      const inside = (id: number, own: number, start: number) => (id === own ? 0 : id - start + 1);
      const a = listing(join(dir, 'out/image'))
        .split('\n')
        .map((l) => {
          const f = l.split(' ');
          if (f.length < 4) return l;
          f[2] = String(inside(Number(f[2]), uid, subuid));
          f[3] = String(inside(Number(f[3]), gid, subgid));
          return f.join(' ');
        });
      const b = listing(x).split('\n');
      assert.ok(a.length > 1000);
      assert.deepEqual(b.filter((l) => !l.startsWith('./dev/')), a);
      assert.match(spawnSync('getcap', [join(x, 'usr/bin/ping')], { encoding: 'utf8' }).stdout, /cap_net_raw=ep/);
      spawnSync('rm', ['-rf', x]);
    });

    test('builds, and dpkg --audit, dpkg -l and apt-get check are clean', async () => {
      assert.equal(build.code, 0, build.stderr);
      assert.ok(existsSync(join(dir, 'out/image.tar')));
      assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['image', 'image.cdx.json', 'image.manifest.json', 'image.spdx.json', 'image.tar'], 'no temporaries left beside the outputs');
      await assertHealthyDebian(dir);
    });

    test('owners, modes, setuid bits and file capabilities are real', async () => {
      const out = await inImage(dir, 'stat -c "%U:%G %a %n" /etc/shadow /usr/bin/passwd; getcap /usr/bin/ping; cat /etc/apt/sources.list; cat /etc/hostname');
      assert.match(out, /^root:shadow 640 \/etc\/shadow$/m);
      assert.match(out, /^root:root 4755 \/usr\/bin\/passwd$/m);
      assert.match(out, /^\/usr\/bin\/ping cap_net_raw=ep$/m);
      assert.match(out, new RegExp(`^deb ${mirror} bookworm main$`, 'm'));
      assert.match(out, /^kiln-amd64$/m);
    });

    test('the root password is hashed by the image’s own chpasswd', async () => {
      const out = await inImage(dir, 'grep "^root:" /etc/shadow');
      assert.match(out, /^root:\$[a-z0-9]+\$[^:]+:/, 'a crypt(3) hash');
      assert.doesNotMatch(out, /correct horse/);
    });

    test('the package set equals mmdebstrap --variant=minbase (merged /usr) for the same mirror', async () => {
      const ours = await assertHealthyDebian(dir);
      const work = mkdtempSync(join(tmpdir(), 'kiln-mmdebstrap-'));
      chmodSync(work, 0o777);
      const tar = join(work, 'mm.tar');
      const args = ['--mode=unshare', '--variant=minbase', '--architectures=amd64', '--include=iputils-ping', '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr', 'bookworm', tar, mirror as string];
      const mm = isRoot ? spawnSync('runuser', ['-u', TEST_USER, '--', 'mmdebstrap', ...args], { encoding: 'utf8', cwd: work }) : spawnSync('mmdebstrap', args, { encoding: 'utf8' });
      assert.equal(mm.status, 0, mm.stderr);
      const status = spawnSync('tar', ['-xOf', tar, './var/lib/dpkg/status'], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
      const theirs = [...status.matchAll(/^Package: (.+)$/gm)].map((m) => m[1] as string).sort();
      assert.deepEqual(ours, theirs);
    });

    test('a second build from scratch downloads nothing', async () => {
      const again = await kiln(['build', '-C', dir, '--rebuild']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /fetch .* 0 downloaded, \d+ cached/);
    });
  });

  test('amd64 minimal: the caller\'s umask changes nothing (022, 002 and 077 give the same tar; a non-root user runs programs)', async () => {
    const dir = imageDir(toml('amd64', ['tar']));
    const sums: Record<string, string> = {};
    for (const umask of ['022', '002', '077']) {
      // --rebuild: no checkpoint made under another umask stands in for the stages; one SOURCE_DATE_EPOCH for all three.
      const r = await kiln(['build', '-C', dir, '--rebuild'], { umask, env: { SOURCE_DATE_EPOCH: '1700000000' } });
      assert.equal(r.code, 0, r.stderr);
      sums[umask] = createHash('sha256').update(readFileSync(join(dir, 'out/image.tar'))).digest('hex');
    }
    assert.deepEqual(sums, { '022': sums['022'], '002': sums['022'], '077': sums['022'] });
    // Built last under umask 077: nobody can still read /usr and run the dynamically linked ls.
    const r = await kiln(['shell', '-C', dir, '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '/bin/ls', '/usr']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^bin$/m);
  });

  test('amd64 packages.base = "none": exactly the packages listed and their dependencies (here Debian\'s Essential set, without apt)', async () => {
    const list = ['base-files', 'base-passwd', 'bash', 'bsdutils', 'coreutils', 'dash', 'debianutils', 'diffutils', 'dpkg', 'findutils', 'grep', 'gzip', 'hostname', 'init-system-helpers', 'libc-bin', 'login', 'mawk', 'ncurses-bin', 'perl-base', 'sed', 'sysvinit-utils', 'tar', 'util-linux'];
    const dir = imageDir(toml('amd64', ['directory']).replace('base = "minimal"', `base = "none"\ninstall = ${JSON.stringify(list)}`));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = await inImage(dir, 'dpkg --audit; echo "audit=$?"; dpkg-query -W -f "\\${db:Status-Abbrev}|\\${Package}\\n"');
    assert.match(out, /^audit=0$/m);
    const lines = out.split('\n').filter((l) => l.includes('|'));
    assert.deepEqual(lines.filter((l) => !l.startsWith('ii |')), [], 'every package is ii');
    const installed = lines.map((l) => l.split('|')[1] as string);
    for (const name of list) assert.ok(installed.includes(name), `${name} installed`);
    assert.ok(!installed.includes('apt'), 'apt is not implied');
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { packages: { name: string; reason?: string }[] };
    assert.ok(!manifest.packages.some((p) => /base set/.test(p.reason ?? '')), 'nothing comes from a base set');
  });

  describe('arm64 minimal, emulated', () => {
    let dir: string;
    before(async () => {
      dir = imageDir(toml('arm64', ['tar.zst'], '\n[system]\nroot-password-hash = "$6$kiln$hashhashhash"\n'));
      const r = await kiln(['build', '-C', dir]);
      assert.equal(r.code, 0, r.stderr);
    });

    test('kiln shell runs the image’s own aarch64 programs', async () => {
      assert.equal((await inImage(dir, 'uname -m')).trim(), 'aarch64');
    });

    test('dpkg --audit, dpkg -l and apt-get check are clean', async () => {
      const names = await assertHealthyDebian(dir);
      assert.ok(names.includes('usr-is-merged') && !names.includes('usrmerge'));
      const shadow = await inImage(dir, 'grep "^root:" /etc/shadow; stat -c "%U:%G %a" /etc/shadow');
      assert.match(shadow, /^root:\$6\$kiln\$hashhashhash:/m);
      assert.match(shadow, /^root:shadow 640$/m);
    });

    test('without a host emulator, kiln takes qemu-user-static from the Debian archive into its tools cache', async () => {
      const r = await kiln(['shell', '-C', dir, '--set', 'build.emulator=download', '--', 'uname', '-m']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'aarch64');
      assert.match(r.stderr, /qemu-aarch64-static is not installed: taking it from qemu-user-static in /);
    });

    test('the host binfmt fallback: refused with a clear line when absent, used when registered', { skip: !isRoot && 'registering binfmt on the host needs root' }, async () => {
      const registered = hostBinfmt();
      if (!registered) {
        const refused = await kiln(['shell', '-C', dir, '--set', 'build.binfmt=host', '--', 'uname', '-m']);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /kiln: error: cannot run aarch64 programs: build\.binfmt = "host" and the host has no binfmt_misc registration for aarch64/);
      }
      const name = registered ?? registerHostBinfmt();
      try {
        const r = await kiln(['shell', '-C', dir, '--set', 'build.binfmt=host', '--', 'uname', '-m']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), 'aarch64');
      } finally {
        if (!registered) writeFileSync(`/proc/sys/fs/binfmt_misc/${name}`, '-1');
      }
    });
  });
});
