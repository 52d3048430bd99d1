/**
 * The fake pacman repositories (test/helpers/fake-arch.ts), checked with
 * other people's tools: pacman -Qip reads every package, tar lists the
 * databases, sqv and gpgv check the signatures, pacman -Sp resolves `base`
 * and, as root, pacman installs it into a directory (x86_64 only).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeArchSkipReason, makeFakeArchRepos, type FakeArchLayout, type FakeArchMachine, type FakeArchRepos } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { sha256 } from '../helpers/fixtures.ts';
import { loadKeyring, verifyDetached } from '../../src/repo/index.ts';
import { skipOrFail } from '../helpers/host-tools.ts';

const MACHINES: FakeArchMachine[] = ['x86_64', 'aarch64'];
const isRoot = process.getuid?.() === 0;
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', HOME: tmpdir() };

function tool(command: string, args: string[], opts: { cwd?: string } = {}): { status: number | null; out: string } {
  const r = spawnSync(command, args, { env: ENV, cwd: opts.cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The same without blocking: pacman talks to a mirror served by this process. */
function toolAsync(command: string, args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, out }));
  });
}

function ok(command: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = tool(command, args, opts);
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${r.out}`);
  return r.out;
}

/** The desc entry of one package in a repository database, as field → lines. */
function desc(repoDir: string, repo: string, entry: string): Map<string, string[]> {
  const text = ok('tar', ['-xOzf', join(repoDir, `${repo}.db`), `${entry}/desc`]);
  const fields = new Map<string, string[]>();
  for (const block of text.split(/\n\n+/)) {
    const [key, ...values] = block.trim().split('\n');
    if (key) fields.set(key.replace(/%/g, ''), values);
  }
  return fields;
}

/** A pacman configuration and directories for one architecture, layout and served tree. */
function pacman(work: string, machine: FakeArchMachine, layout: FakeArchLayout, url: string, keyring: string, fingerprint: string) {
  const root = join(work, 'root');
  const gpgdir = join(work, 'gnupg');
  mkdirSync(join(root, 'var/lib/pacman'), { recursive: true });
  mkdirSync(join(work, 'cache'));
  mkdirSync(gpgdir, { recursive: true, mode: 0o700 });
  // An existing pubring.gpg keeps gpg on the legacy keyring pacman looks for.
  writeFileSync(join(gpgdir, 'pubring.gpg'), '');
  ok('gpg', ['--homedir', gpgdir, '--batch', '--quiet', '--import', keyring]);
  const trust = join(work, 'ownertrust');
  writeFileSync(trust, `${fingerprint}:6:\n`);
  ok('gpg', ['--homedir', gpgdir, '--batch', '--quiet', '--import-ownertrust', trust]);
  const conf = join(work, 'pacman.conf');
  const repos = layout.repos.map((r) => `[${r}]\nServer = ${url}/${layout.pattern}\n`).join('\n');
  writeFileSync(conf, `[options]\nArchitecture = ${machine}\nSigLevel = Required DatabaseOptional\nDisableDownloadTimeout\n\n${repos}`);
  const args = ['--root', root, '--dbpath', join(root, 'var/lib/pacman'), '--config', conf, '--cachedir', join(work, 'cache'), '--gpgdir', gpgdir, '--noconfirm', '--noprogressbar'];
  return { root, run: (...more: string[]) => toolAsync('pacman', [...args, ...more]) };
}

describe('fake Arch repositories', { skip: skipOrFail(fakeArchSkipReason(MACHINES)) }, () => {
  let dir: string;
  let repos: FakeArchRepos;
  let generateMs = 0;
  const mirrors: Mirror[] = [];
  const serve = async (root: string) => {
    const mirror = await startMirror(root);
    mirrors.push(mirror);
    return mirror.url;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-fake-arch-'));
    const start = performance.now();
    repos = await makeFakeArchRepos(join(dir, 'first'), { architectures: MACHINES });
    generateMs = performance.now() - start;
  });
  after(async () => {
    await Promise.all(mirrors.map((m) => m.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pacman -Qip reads every package with its name, version and architecture', (t) => {
    t.diagnostic(`generated in ${Math.round(generateMs)} ms`);
    for (const [layout, machine] of [['arch', 'x86_64'], ['arch', 'aarch64'], ['alarm', 'aarch64']] as const) {
      const l = repos.layouts[layout] as FakeArchLayout;
      for (const pkg of l.packages[machine] ?? []) {
        const file = join(l.dir(machine, pkg.repo), pkg.filename);
        const info = ok('pacman', ['-Qip', file]);
        assert.match(info, new RegExp(`^Name +: ${pkg.name}$`, 'm'));
        assert.match(info, new RegExp(`^Version +: ${pkg.version}$`, 'm'));
        assert.match(info, new RegExp(`^Architecture +: ${pkg.arch}$`, 'm'));
        assert.equal(pkg.arch === 'any' || pkg.arch === machine, true);
        const members = ok('bsdtar', ['-tf', file]).split('\n').filter(Boolean);
        assert.deepEqual(members.slice(0, 3), ['.BUILDINFO', '.MTREE', '.PKGINFO'], pkg.filename);
        assert.deepEqual(members.filter((m) => !m.startsWith('.')), pkg.files, pkg.filename);
        assert.equal(sha256(readFileSync(file)), pkg.sha256);
      }
    }
    const names = (repos.packages.x86_64 ?? []).map((p) => p.name).sort();
    assert.deepEqual(names, ['archlinux-keyring', 'base', 'bash', 'busybox', 'filesystem', 'glibc', 'kiln-extra-tool', 'kiln-hook', 'kiln-marks', 'toybox']);
    assert.ok(repos.layouts.alarm?.packages.aarch64?.some((p) => p.name === 'archlinuxarm-keyring' && p.repo === 'alarm'));
    assert.match(repos.packages.x86_64?.find((p) => p.name === 'busybox')?.version ?? '', /^\d+:[^-:]+-\d+$/, 'busybox carries an epoch');
  });

  it('the .MTREE is a gzipped mtree with root ownership, and modes are kept', () => {
    const file = join(repos.layouts.arch.dir('x86_64', 'core'), repos.packages.x86_64?.find((p) => p.name === 'filesystem')?.filename ?? '');
    const mtree = spawnSync('sh', ['-c', `bsdtar -xOf "${file}" .MTREE | gzip -dc`], { encoding: 'utf8' }).stdout;
    assert.match(mtree, /^#mtree\n/);
    assert.match(mtree, /^\/set type=file uid=0 gid=0 mode=\d+$/m);
    assert.doesNotMatch(mtree, /uid=[1-9]|gid=[1-9]/);
    assert.match(mtree, /^\.\/etc\/shadow .*mode=600/m);
    assert.match(mtree, /^\.\/tmp .*mode=1777 type=dir/m);
    assert.match(mtree, /^\.\/lib64 .*type=link link=usr\/lib/m);
  });

  it('every database lists exactly its packages, with their sha256 and %PGPSIG%', () => {
    for (const l of Object.values(repos.layouts)) {
      for (const [machine, packages] of Object.entries(l?.packages ?? {}) as [FakeArchMachine, FakeArchRepos['packages']['x86_64']][]) {
        for (const repo of l?.repos ?? []) {
          const repoDir = (l as FakeArchLayout).dir(machine, repo);
          const mine = (packages ?? []).filter((p) => p.repo === repo);
          const entries = ok('tar', ['-tzf', join(repoDir, `${repo}.db`)]).split('\n').filter((e) => e.endsWith('/')).sort();
          assert.deepEqual(entries, mine.map((p) => `${p.name}-${p.version}/`).sort(), `${repoDir}`);
          assert.ok(existsSync(join(repoDir, `${repo}.files`)));
          for (const pkg of mine) {
            const fields = desc(repoDir, repo, `${pkg.name}-${pkg.version}`);
            assert.deepEqual(fields.get('SHA256SUM'), [pkg.sha256]);
            assert.deepEqual(fields.get('PGPSIG'), [readFileSync(join(repoDir, `${pkg.filename}.sig`)).toString('base64')]);
          }
        }
      }
    }
  });

  it('glibc puts the ELF interpreter where the merged-/usr symlinks lead', () => {
    const loaders: Record<FakeArchMachine, string> = { x86_64: 'usr/lib/ld-linux-x86-64.so.2', aarch64: 'usr/lib/ld-linux-aarch64.so.1' };
    for (const machine of MACHINES) {
      const glibc = repos.packages[machine]?.find((p) => p.name === 'glibc');
      assert.ok(glibc?.files.includes(loaders[machine]), machine);
      assert.ok(glibc?.files.some((f) => f.startsWith(`usr/lib/${machine}-linux-gnu/ld-linux-`)), machine);
      assert.ok(!glibc?.files.some((f) => /^(lib|lib64|bin|sbin|usr\/sbin)\//.test(f)), 'nothing outside merged /usr');
    }
    assert.ok(repos.packages.x86_64?.find((p) => p.name === 'filesystem')?.files.includes('lib64'));
    assert.ok(!repos.packages.aarch64?.find((p) => p.name === 'filesystem')?.files.includes('lib64'));
  });

  it('signatures verify against the keyring with sqv, gpgv and openpgp.js, and not against the unknown key', async () => {
    const keys = await loadKeyring([repos.keyring]);
    const unknown = await loadKeyring([repos.unknownKeyring]);
    for (const machine of MACHINES) {
      for (const pkg of repos.packages[machine] ?? []) {
        const file = join(repos.layouts.arch.dir(machine, pkg.repo), pkg.filename);
        ok('sqv', ['--keyring', repos.keyring, `${file}.sig`, file]);
        ok('gpgv', ['--keyring', repos.keyringBinary, `${file}.sig`, file]);
        assert.notEqual(tool('sqv', ['--keyring', repos.unknownKeyring, `${file}.sig`, file]).status, 0);
        await verifyDetached(readFileSync(file), readFileSync(`${file}.sig`), keys);
        await assert.rejects(verifyDetached(readFileSync(file), readFileSync(`${file}.sig`), unknown));
      }
    }
    assert.equal(ok('sqv', ['--keyring', repos.keyring, ...sigAndFile(repos.layouts.arch, 'x86_64', 'base')]).trim(), repos.keyFingerprint);
  });

  function sigAndFile(l: FakeArchLayout, machine: FakeArchMachine, name: string, pkg = l.packages[machine]?.find((p) => p.name === name)): [string, string] {
    const file = join(l.dir(machine, pkg?.repo ?? ''), pkg?.filename ?? '');
    return [`${file}.sig`, file];
  }

  it('variants: tampered fails sha256 and signature; bad-signature only the signature; unknown-key only the keyring', async () => {
    for (const kind of ['tampered', 'bad-signature', 'unknown-key'] as const) {
      const variant = await repos.variant(kind);
      assert.equal(variant.root, `${repos.root}-${kind}`);
      for (const machine of MACHINES) {
        const pkg = variant.changed[machine];
        assert.ok(pkg?.files.includes('etc/kiln-tampered'));
        if (!pkg) continue;
        const repoDir = join(variant.root, repos.layouts.arch.dir(machine, pkg.repo).slice(repos.root.length));
        const file = join(repoDir, pkg.filename);
        assert.equal(sha256(readFileSync(file)), pkg.sha256);
        const dbSha = desc(repoDir, pkg.repo, `${pkg.name}-${pkg.version}`).get('SHA256SUM')?.[0];
        assert.equal(dbSha === pkg.sha256, kind !== 'tampered', `${kind}: db sha256`);
        const trusted = tool('sqv', ['--keyring', repos.keyring, `${file}.sig`, file]).status === 0;
        assert.equal(trusted, false, `${kind}: signature by the keyring`);
        const byUnknown = tool('sqv', ['--keyring', repos.unknownKeyring, `${file}.sig`, file]).status === 0;
        assert.equal(byUnknown, kind === 'unknown-key');
        ok('pacman', ['-Qip', file]);
        // The other packages of the variant are untouched.
        ok('sqv', ['--keyring', repos.keyring, ...sigAndFile(repos.layouts.arch, machine, 'glibc').map((p) => p.replace(repos.root, variant.root))]);
      }
    }
    const alarm = await repos.variant('tampered', { layout: 'alarm', package: 'glibc' });
    assert.equal(alarm.root, `${repos.alarmRoot}-tampered-glibc`);
  });

  it('pacman -Sp resolves base to baseSet from both mirror layouts over HTTP', async () => {
    for (const [layout, machine] of [['arch', 'x86_64'], ['arch', 'aarch64'], ['alarm', 'aarch64']] as const) {
      const l = repos.layouts[layout] as FakeArchLayout;
      const url = await serve(l.root);
      const pm = pacman(mkdtempSync(join(dir, 'sp-')), machine, l, url, repos.keyring, repos.keyFingerprint);
      const r = await pm.run('-Syp', '--print-format', '%n', 'base');
      assert.equal(r.status, 0, r.out);
      const names = r.out.split('\n').filter((line) => /^[a-z0-9-]+$/.test(line)).sort();
      assert.deepEqual(names, repos.baseSet[machine], `${layout} ${machine}`);
      const group = await pm.run('-Sp', '--print-format', '%n', 'kiln-group');
      assert.deepEqual(group.out.split('\n').filter((n) => n.startsWith('kiln-')).sort(), ['kiln-extra-tool', 'kiln-marks']);
    }
    assert.deepEqual(repos.baseSet.x86_64, ['base', 'bash', 'busybox', 'filesystem', 'glibc']);
  });

  it('a warm cache makes a second copy in moments', async (t) => {
    const start = performance.now();
    const again = await makeFakeArchRepos(join(dir, 'second'), { architectures: MACHINES });
    const ms = performance.now() - start;
    t.diagnostic(`warm: ${Math.round(ms)} ms`);
    assert.deepEqual(again.packages, repos.packages);
    assert.ok(ms < 10_000, `${ms} ms`);
  });

  it('pacman installs base, kiln-hook and kiln-marks into a directory (x86_64), running scriptlets and hooks', { skip: !isRoot && 'pacman chroots for scriptlets, which needs root' }, async () => {
    const pm = pacman(mkdtempSync(join(dir, 'install-')), 'x86_64', repos.layouts.arch, await serve(repos.root), repos.keyring, repos.keyFingerprint);
    const r = await pm.run('-Sy', 'base', 'kiln-hook', 'kiln-marks');
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /error|warning/i);
    assert.match(ok('chroot', [pm.root, '/usr/bin/bash', '--version']), /GNU bash, version 5/);
    assert.match(ok('chroot', [pm.root, '/bin/sh', '-c', 'echo $((6 * 7))']), /^42$/m);
    assert.match(ok('chroot', [pm.root, '/usr/bin/busybox', 'echo', 'busybox ok']), /busybox ok/);
    const marks = join(pm.root, 'var/lib/kiln-test');
    assert.equal(readFileSync(join(marks, 'bash-post-install'), 'utf8'), `bash post_install ${repos.packages.x86_64?.find((p) => p.name === 'bash')?.version}\n`);
    assert.equal(readFileSync(join(marks, 'kiln-hook-pre-install'), 'utf8'), 'kiln-hook pre_install 1.0-1\n');
    assert.match(readFileSync(join(marks, 'hook-ran'), 'utf8'), /^usr\/share\/kiln-marks\/first\nusr\/share\/kiln-marks\/second$/m);
    ok('pacman', ['--root', pm.root, '--dbpath', join(pm.root, 'var/lib/pacman'), '-Qkk']);
    assert.equal((await pm.run('-S', 'toybox')).status, 1, 'toybox conflicts with busybox');
  });

  it('pacman refuses each variant (x86_64)', { skip: !isRoot && 'pacman chroots for scriptlets, which needs root' }, async () => {
    for (const kind of ['tampered', 'bad-signature', 'unknown-key'] as const) {
      const variant = await repos.variant(kind);
      const pm = pacman(mkdtempSync(join(dir, `refuse-${kind}-`)), 'x86_64', repos.layouts.arch, await serve(variant.root), repos.keyring, repos.keyFingerprint);
      const r = await pm.run('-Sy', 'base');
      assert.notEqual(r.status, 0, `${kind}:\n${r.out}`);
      // pacman checks the signature before (instead of) the sha256 when the database has one.
      assert.match(r.out, kind === 'unknown-key' ? /required key missing from keyring/ : /busybox: signature from .* is invalid/, kind);
      assert.equal(existsSync(join(pm.root, 'etc/kiln-tampered')), false);
      assert.equal(existsSync(join(pm.root, 'usr/bin/bash')), false);
    }
  });
});
