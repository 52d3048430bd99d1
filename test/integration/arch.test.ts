/**
 * The Arch Linux family, rootless, from real pacman repositories made for the
 * test (test/helpers/fake-arch.ts: Debian binaries repackaged, signed with a
 * throwaway key, indexed with repo-add, served on 127.0.0.1), checked with the
 * real pacman: -Q lists exactly the resolved set, -Qk finds every file, -Qkk
 * finds no difference, -Dk finds no problem.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';
import { cyclonedxContents, spdxContents } from '../helpers/sbom-contents.ts';
import { spdxProblems } from '../helpers/spdx.ts';
import type { Manifest } from '../../src/outputs/index.ts';

const skip = skipOrFail(integrationSkipReason() ?? fakeArchSkipReason(['x86_64', 'aarch64']) ?? missingTools(['pacman']));

/** The real pacman on a built tree (asynchronous: the mirror is served from this process). */
function pacman(root: string, args: string[]): Promise<{ code: number; out: string }> {
  return runPacman(['--root', root, '--dbpath', join(root, 'var/lib/pacman'), '--config', '/dev/null', ...args]);
}

function runPacman(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('pacman', args, { env: { LC_ALL: 'C', PATH: process.env.PATH } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Every check an Arch tree must pass with pacman's own tools; returns the installed names. */
async function assertHealthyArch(root: string, expected: string[], fingerprint: string): Promise<void> {
  const q = await pacman(root, ['-Qq']);
  assert.equal(q.code, 0, q.out);
  assert.deepEqual(q.out.trim().split('\n').sort(), [...expected].sort(), 'pacman -Q lists exactly the resolved set');
  const qk = await pacman(root, ['-Qk']);
  assert.equal(qk.code, 0, qk.out);
  for (const line of qk.out.trim().split('\n')) assert.match(line, / 0 missing files$/, line);
  // -Qkk: every file's type, mode, owner, time, size and checksum as the package's .MTREE says, the local database's own files included.
  // Seen from the host, a rootless tree's owners are shifted (its root is the test user): owners are compared in the host-pacman test.
  const shifted = statSync(root).uid !== 0;
  const qkk = await pacman(root, ['-Qkk']);
  const differences = qkk.out.split('\n').filter((line) => line.startsWith('warning:') && !(shifted && / \((UID|GID) mismatch\)$/.test(line)));
  assert.deepEqual(differences, [], 'pacman -Qkk finds no difference');
  if (!shifted) assert.equal(qkk.code, 0, qkk.out);
  const dk = await pacman(root, ['-Dk']);
  assert.equal(dk.code, 0, dk.out);
  const explicit = await pacman(root, ['-Qqe']);
  assert.ok(explicit.out.split('\n').includes('base'), 'base was asked for: explicit');
  assert.ok(!explicit.out.split('\n').includes('glibc'), 'glibc came as a dependency');
  assert.equal(readFileSync(join(root, 'var/lib/pacman/local/ALPM_DB_VERSION'), 'utf8').trim(), '9');
  // The .INSTALL scriptlet and the path-triggered ALPM hook left their marks.
  assert.match(readFileSync(join(root, 'var/lib/kiln-test/bash-post-install'), 'utf8'), /5\.2\.15-2/);
  const hooked = readFileSync(join(root, 'var/lib/kiln-test/hook-ran'), 'utf8').trim().split('\n');
  assert.ok(hooked.length >= 2 && hooked.every((l) => l.startsWith('usr/share/kiln-marks/')), `hook stdin: ${hooked.join(', ')}`);
  // No keyring built in (its local master key is each machine's, made on first boot); the enabled unit makes it from the shipped keyrings.
  assert.equal(existsSync(join(root, 'etc/pacman.d/gnupg')), false, 'no keyring in the image');
  assert.match(readFileSync(join(root, 'etc/systemd/system/pacman-init.service'), 'utf8'), /^ExecStart=\/usr\/bin\/pacman-key --populate$/m);
  assert.equal(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/pacman-init.service')), '../pacman-init.service');
  const keyrings = join(root, 'usr/share/pacman/keyrings');
  assert.ok(readdirSync(keyrings).some((n) => n.endsWith('-trusted') && readFileSync(join(keyrings, n), 'utf8').includes(`${fingerprint}:4:`)), 'pacman-key --populate will trust the packager key');
  assert.match(readFileSync(join(root, 'etc/pacman.conf'), 'utf8'), /^\[core\]$/m);
}

describe('Arch Linux family, rootless, from a local signed repository', { skip }, () => {
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let alarmMirror: Mirror;
  let keyring: string;
  let cache: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-arch-fixture-'));
    repos = await makeFakeArchRepos(dir, { architectures: ['x86_64', 'aarch64'] });
    mirror = await startMirror(repos.root);
    alarmMirror = await startMirror(repos.alarmRoot as string);
    keyring = readableKeyring(repos, 'arch');
    cache = imageDir();
  });
  after(async () => {
    await mirror?.close();
    await alarmMirror?.close();
  });

  const toml = (name: string, arch: string, mirrorUrl: string, extra = '', cacheDir = cache) =>
    `[distribution]\nname = "${name}"\narchitecture = "${arch}"\nmirror = "${mirrorUrl}"\nkeyring = ["${keyring}"]\n${extra}\n[packages]\ninstall = ["kiln-hook", "kiln-group"]\n\n[output]\nformat = ["directory"]\n\n[build]\ncache-directory = "${cacheDir}"\n`;

  test('Arch Linux x86_64: pacman agrees with the tree; kiln shell runs its bash', async () => {
    const dir = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const root = join(dir, 'out/image');
    await assertHealthyArch(root, [...(repos.baseSet.x86_64 as string[]), 'archlinux-keyring', 'kiln-hook', 'kiln-marks', 'kiln-extra-tool'], repos.keyFingerprint);
    // The image's own pacman.conf and mirrorlist work: pacman, chrooted into the tree, syncs and finds nothing to do.
    if (isRoot) {
      const syu = await runPacman(['--sysroot', root, '--noconfirm', '-Syu']);
      assert.equal(syu.code, 0, syu.out);
      assert.match(syu.out, /there is nothing to do/);
    }
    const sh = await kiln(['shell', '-C', dir, '--', '/usr/bin/bash', '-c', 'echo "$BASH_VERSION"']);
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, /^5\.2\.15/);
    // The manifest lists what pacman's local database holds; the SBOM is valid SPDX 2.3 with alpm package URLs.
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as Manifest;
    const hook = manifest.packages.find((p) => p.name === 'kiln-hook');
    assert.ok(hook && hook.architecture === 'any' && hook.licenses.includes('custom') && hook.sha256 && (hook.installedSize ?? 0) > 0, JSON.stringify(hook));
    assert.equal(manifest.outputs[0]?.format, 'directory');
    const sbom = JSON.parse(readFileSync(join(dir, 'out/image.spdx.json'), 'utf8')) as { packages: { name: string; externalRefs?: { referenceLocator: string }[] }[] };
    assert.deepEqual(spdxProblems(sbom), []);
    // Both SBOMs list what the scriptlet, the ALPM hook and kiln made, and the package graph; pacman agrees with them.
    const bom = JSON.parse(readFileSync(join(dir, 'out/image.cdx.json'), 'utf8')) as unknown;
    assert.deepEqual(cyclonedxProblems(bom), []);
    const listed = spdxContents(sbom);
    assert.deepEqual(cyclonedxContents(bom), listed);
    const unowned = [...listed.files].filter(([, f]) => f.kind === 'unowned').map(([path]) => path);
    for (const made of ['/var/lib/kiln-test/bash-post-install', '/var/lib/kiln-test/hook-ran', '/etc/systemd/system/pacman-init.service', '/etc/systemd/system/multi-user.target.wants/pacman-init.service']) assert.ok(unowned.includes(made), `${made} in ${unowned.join(' ')}`);
    assert.equal(listed.files.get('/var/lib/pacman/local/ALPM_DB_VERSION')?.kind, 'package-database');
    const regular = unowned.filter((path) => lstatSync(join(root, path)).isFile());
    const owners = await pacman(root, ['-Qqo', ...regular.map((path) => join(root, path))]);
    assert.deepEqual(owners.out.trim().split('\n').filter((line) => !/^error: No package owns /.test(line)), [], 'pacman says a package owns files listed as unowned');
    const info = await pacman(root, ['-Qi']);
    let edges = 0;
    const installed = new Set(listed.dependsOn.keys());
    for (const block of info.out.split(/\n\n+/)) {
      const name = /^Name +: (\S+)$/m.exec(block)?.[1];
      const depends = /^Depends On +: (.*)$/m.exec(block)?.[1];
      if (!name || !depends || depends === 'None') continue;
      for (const on of depends.split(/\s+/).map((d) => d.replace(/[<>=].*$/, '')).filter((d) => installed.has(d) && d !== name)) {
        assert.ok(listed.dependsOn.get(name)?.includes(on), `${name} depends on ${on}: ${listed.dependsOn.get(name)?.join(' ')}`);
        edges++;
      }
    }
    assert.ok(edges > 0 && listed.dependsOn.get('bash')?.includes('glibc'), `${edges} edges checked; bash: ${listed.dependsOn.get('bash')?.join(' ')}`);
    assert.match(sbom.packages.find((p) => p.name === 'kiln-hook')?.externalRefs?.[0]?.referenceLocator ?? '', /^pkg:alpm\/archlinux\/kiln-hook@[^?]+\?arch=any$/);
  });

  test('build.workspace = "disk" with a directory output: the manifest and SBOM list every package', async () => {
    const dir = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`).replace('[build]\n', '[build]\nworkspace = "disk"\n').replace('format = ["directory"]', 'format = ["directory", "tar"]'));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /manifest lists no packages/);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as Manifest;
    const expected = [...(repos.baseSet.x86_64 as string[]), 'archlinux-keyring', 'kiln-hook', 'kiln-marks', 'kiln-extra-tool'].sort();
    assert.deepEqual(manifest.packages.map((p) => p.name).sort(), expected);
    const sbom = JSON.parse(readFileSync(join(dir, 'out/image.spdx.json'), 'utf8')) as { packages: { name: string }[] };
    for (const name of expected) assert.ok(sbom.packages.some((p) => p.name === name), `${name} in the SBOM`);
    assert.ok(existsSync(join(dir, 'out/image/var/lib/pacman/local')) && existsSync(join(dir, 'out/image.tar')), 'both outputs');
  });

  test('the caller\'s umask changes nothing: builds under umask 022, 002 and 077 give the same tar', async () => {
    const dir = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`).replace('format = ["directory"]', 'format = ["tar"]'));
    const sums: Record<string, string> = {};
    for (const umask of ['022', '002', '077']) {
      // --rebuild: no checkpoint made under another umask stands in for the stages.
      const r = await kiln(['build', '-C', dir, '--rebuild'], { umask });
      assert.equal(r.code, 0, r.stderr);
      sums[umask] = createHash('sha256').update(readFileSync(join(dir, 'out/image.tar'))).digest('hex');
    }
    assert.deepEqual(sums, { '022': sums['022'], '002': sums['022'], '077': sums['022'] });
    // Files kiln writes, directories and files the packages bring: the modes a umask of 022 gives.
    const listing = spawnSync('tar', ['--no-recursion', '-tvf', join(dir, 'out/image.tar'), './usr/', './usr/bin/', './etc/', './etc/pacman.conf'], { encoding: 'utf8' });
    const modes = Object.fromEntries(listing.stdout.trim().split('\n').map((l) => [l.split(/\s+/).at(-1), l.split(' ')[0]]));
    assert.deepEqual(modes, { './usr/': 'drwxr-xr-x', './usr/bin/': 'drwxr-xr-x', './etc/': 'drwxr-xr-x', './etc/pacman.conf': '-rw-r--r--' }, listing.stdout);
  });

  test('packages.base = "none" from a repository without base: exactly packages.install, and pacman -Qkk is clean', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-arch-nobase-'));
    cpSync(repos.root, root, { recursive: true });
    const core = join(root, 'core/os/x86_64');
    const removed = spawnSync('repo-remove', ['-q', '--nocolor', 'core.db.tar.gz', 'base'], { cwd: core, encoding: 'utf8' });
    assert.equal(removed.status, 0, removed.stderr);
    spawnSync('chmod', ['-R', 'a+rX', root]);
    const served = await startMirror(root);
    try {
      const url = `${served.url}/$repo/os/$arch`;
      // A cache of its own: the shared one remembers the databases with base.
      const base = toml('archlinux', 'x86_64', url, '', imageDir());
      const refused = await kiln(['build', '-C', imageDir(base)]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /unknown package or group "base" \(asked for by Arch Linux's base set: packages\.base = "minimal" \(default\); "none" installs exactly packages\.install\)/);
      const dir = imageDir(base.replace('install = ["kiln-hook", "kiln-group"]', 'base = "none"\ninstall = ["bash", "kiln-hook"]'));
      const r = await kiln(['build', '-C', dir]);
      assert.equal(r.code, 0, r.stderr);
      const tree = join(dir, 'out/image');
      const q = await pacman(tree, ['-Qq']);
      assert.deepEqual(q.out.trim().split('\n').sort(), ['bash', 'filesystem', 'glibc', 'kiln-hook'], 'no base, no keyring package: only what was asked for and its dependencies');
      const explicit = await pacman(tree, ['-Qqe']);
      assert.deepEqual(explicit.out.trim().split('\n').sort(), ['bash', 'kiln-hook']);
      const shifted = statSync(tree).uid !== 0;
      const qkk = await pacman(tree, ['-Qkk']);
      assert.deepEqual(qkk.out.split('\n').filter((line) => line.startsWith('warning:') && !(shifted && / \((UID|GID) mismatch\)$/.test(line))), [], qkk.out);
      const dk = await pacman(tree, ['-Dk']);
      assert.equal(dk.code, 0, dk.out);
      assert.match(readFileSync(join(tree, 'var/lib/kiln-test/bash-post-install'), 'utf8'), /5\.2\.15-2/, 'the scriptlet ran');
    } finally {
      await served.close();
    }
  });

  test('the tree and local database are what the host pacman makes of the same packages', { skip: isRoot ? undefined : 'the host pacman needs root to install' }, async () => {
    const dir = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`));
    // --rebuild: every stage runs again (the first build's checkpoints would skip the keyring step).
    const r = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /keyring .*archlinux: made on first boot/, 'the keyring is left for the first boot');
    assert.ok(mirror.log.some((e) => e.path.endsWith('/core.db') && e.status === 304), 'an unchanged database is not downloaded again');
    const ours = join(dir, 'out/image');
    const work = mkdtempSync(join(tmpdir(), 'kiln-arch-pacman-'));
    const theirs = join(work, 'root');
    mkdirSync(join(theirs, 'var/lib/pacman'), { recursive: true });
    const gpgdir = join(work, 'gnupg');
    mkdirSync(gpgdir, { mode: 0o700 });
    spawnSync('gpg', ['--homedir', gpgdir, '--batch', '--quiet', '--import', repos.keyringBinary]);
    spawnSync('gpg', ['--homedir', gpgdir, '--batch', '--quiet', '--import-ownertrust'], { input: `${repos.keyFingerprint}:6:\n` });
    writeFileSync(join(work, 'pacman.conf'), `[options]\nArchitecture = x86_64\nSigLevel = Required DatabaseOptional\nGPGDir = ${gpgdir}\n[core]\nServer = ${mirror.url}/$repo/os/$arch\n[extra]\nServer = ${mirror.url}/$repo/os/$arch\n`);
    const installed = await runPacman(['--root', theirs, '--dbpath', join(theirs, 'var/lib/pacman'), '--config', join(work, 'pacman.conf'), '--cachedir', join(work, 'cache'), '--noconfirm', '-Sy', 'base', 'archlinux-keyring', 'kiln-hook', 'kiln-group']);
    assert.equal(installed.code, 0, installed.out);
    const listing = (root: string) =>
      spawnSync('find', ['.', '-printf', '%p %u %g %m %y %l\n'], { cwd: root, encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l && !/^\.\/(var\/lib\/pacman\/sync|var\/log\/pacman\.log|var\/cache\/pacman|etc\/pacman\.|etc\/hostname)/.test(l))
        // kiln's first-boot keyring unit (the host pacman's run has its keyring elsewhere, in GPGDir).
        .filter((l) => !/^\.\/etc\/systemd(\/system(\/multi-user\.target\.wants(\/pacman-init\.service)?|\/pacman-init\.service)?)? /.test(l))
        .sort();
    // Seen from the host, the rootless tree's root is the test user (its namespace's uid 0).
    const asRoot = (lines: string[]) => lines.map((l) => l.replace(` ${TEST_USER} ${TEST_USER} `, ' root root '));
    assert.deepEqual(asRoot(listing(ours)), listing(theirs), 'the same paths, owners, modes and links');
    const local = 'var/lib/pacman/local';
    for (const entry of readdirSync(join(theirs, local))) {
      for (const file of entry === 'ALPM_DB_VERSION' ? [''] : ['desc', 'files', 'mtree', 'install']) {
        const a = join(theirs, local, entry, file);
        if (!existsSync(a)) continue;
        // The install date is when each ran; pacman without a signature check in its own transaction records sha256.
        const normal = (p: string) => readFileSync(p, 'latin1').replace(/%INSTALLDATE%\n\d+/, '').replace(/%VALIDATION%\n\w+/, '');
        assert.equal(normal(join(ours, local, entry, file)), normal(a), `${entry}/${file}`);
      }
    }
  });

  test('Arch Linux ARM aarch64 on this host: scriptlets and hooks emulated, uname -m says aarch64', async () => {
    const dir = imageDir(toml('archlinuxarm', 'aarch64', `${alarmMirror.url}/$arch/$repo`));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    await assertHealthyArch(join(dir, 'out/image'), [...(repos.baseSet.aarch64 as string[]), 'archlinuxarm-keyring', 'kiln-hook', 'kiln-marks', 'kiln-extra-tool'], repos.keyFingerprint);
    const sh = await kiln(['shell', '-C', dir, '--', '/usr/bin/busybox', 'uname', '-m']);
    assert.equal(sh.code, 0, sh.stderr);
    assert.equal(sh.stdout.trim(), 'aarch64');
  });

  test('a per-repository mirror and a third-party repository with its own keyring', async () => {
    // The distribution mirror leads nowhere: core comes through its own mirror, extra as a third-party repository.
    const extra = `repositories = ["core"]\nrepository-mirrors = { core = "${mirror.url}/$repo/os/$arch" }\nextra-repositories = [{ name = "extra", server = "${mirror.url}/$repo/os/$arch", keyring = ["${keyring}"], architectures = ["x86_64"] }]\n`;
    const dir = imageDir(toml('archlinux', 'x86_64', 'http://127.0.0.1:1/nowhere/$repo', extra).replace(`keyring = ["${keyring}"]\n`, `keyring = ["${keyring}"]\n`));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const root = join(dir, 'out/image');
    const q = await pacman(root, ['-Qq']);
    assert.deepEqual(q.out.trim().split('\n').sort(), [...(repos.baseSet.x86_64 as string[]), 'archlinux-keyring', 'kiln-hook', 'kiln-marks', 'kiln-extra-tool'].sort());
    const conf = readFileSync(join(root, 'etc/pacman.conf'), 'utf8');
    assert.match(conf, new RegExp(`^\\[core\\]\nInclude = /etc/pacman.d/mirrorlist$`, 'm'));
    assert.match(conf, new RegExp(`^\\[extra\\]\nServer = ${mirror.url.replace(/\./g, '\\.')}/\\$repo/os/\\$arch$`, 'm'));
  });

  for (const [kind, message] of [
    ['tampered', /busybox.*(sha256|checksum|SHA256)/i],
    ['bad-signature', /signature check failed for package busybox/],
    ['unknown-key', /signature check failed for package busybox.*key not in keyring/],
  ] as const) {
    test(`a ${kind} package is refused, naming it, before anything is unpacked`, async () => {
      const variant = await repos.variant(kind);
      const served = await startMirror(variant.root);
      try {
        // A cache of its own: the shared one already holds the genuine package under the same sha256.
        const dir = imageDir(toml('archlinux', 'x86_64', `${served.url}/$repo/os/$arch`, '', imageDir()));
        const r = await kiln(['build', '-C', dir]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trim().split('\n').filter((l) => /^kiln: /.test(l)).length <= 2, true, r.stderr);
        assert.ok(!existsSync(join(dir, 'out/image')), 'no output');
      } finally {
        await served.close();
      }
    });
  }

  test('a repository database whose published signature is bad is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kiln-arch-badsig-'));
    cpSync(repos.root, root, { recursive: true });
    const core = join(root, 'core/os/x86_64');
    // A real signature, but over another file.
    const someSig = readdirSync(core).find((n) => n.endsWith('.pkg.tar.zst.sig')) as string;
    copyFileSync(join(core, someSig), join(core, 'core.db.sig'));
    const served = await startMirror(root);
    try {
      const dir = imageDir(toml('archlinux', 'x86_64', `${served.url}/$repo/os/$arch`, '', imageDir()));
      const r = await kiln(['build', '-C', dir]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /signature check failed for http:\/\/127\.0\.0\.1:\d+\/core\/os\/x86_64\/core\.db/);
    } finally {
      await served.close();
    }
  });

  test('no trust anchor: one line that says how to give one; trust-first-download builds with a warning', async () => {
    const none = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`).replace(`keyring = ["${keyring}"]`, 'keyring = []'));
    const refused = await kiln(['build', '-C', none]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /no keyring to check Arch Linux packages.*\n.*keyring-bootstrap = "trust-first-download"/);
    // The host may well have the keyring: then the message says the config emptied the list, not that the host lacks it.
    if (existsSync('/usr/share/keyrings/archlinux.gpg')) assert.match(refused.stderr, /distribution\.keyring is set to \[\]/);
    const trusting = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`, 'keyring-bootstrap = "trust-first-download"').replace(`keyring = ["${keyring}"]`, 'keyring = []'));
    const r = await kiln(['build', '-C', trusting]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /trust-first-download.*archlinux-keyring.*unverified/);
  });
});
