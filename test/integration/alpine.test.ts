/**
 * Alpine Linux, rootless, from real apk repositories made for the test
 * (test/helpers/apk-fixture.ts: Debian's busybox-static and musl as Alpine
 * packages, signed with a throwaway RSA key, served on 127.0.0.1), checked
 * against what the packages carry with the test's own reader of apk's
 * database (test/helpers/apk-fixture-db.ts), written to the user-facing
 * contract: `[distribution] name = "alpine"`, release, architecture,
 * mirror (packages at $mirror/$release/$repo/$arch/), repositories, keyring.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';
import { cyclonedxContents, spdxContents } from '../helpers/sbom-contents.ts';
import { spdxProblems } from '../helpers/spdx.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import {
  APK_VARIANTS, apkFixtureSkipReason, apkPackage, HOOKS_DIR, makeApkRepos, MINIMAL_HELLO_PLAN, NEWEST, readableApkKeys, SERVICE_USER, TAMPERED_FILE,
  type ApkMachine, type ApkRepos,
} from '../helpers/apk-fixture.ts';
import { dbDifferences, field, parseInstalled, readTar } from '../helpers/apk-fixture-db.ts';

const skip = skipOrFail(integrationSkipReason() ?? apkFixtureSkipReason(['x86_64', 'aarch64']));

/** Files the packages' scripts (or kiln's system settings) change after unpacking: their bytes are not compared. */
const CHANGED_AFTER_UNPACK = new Set(['etc/passwd', 'etc/group', 'etc/shadow', 'etc/hostname', 'etc/hosts']);

describe('Alpine Linux, rootless, from a local signed apk repository', { skip }, () => {
  let repos: ApkRepos;
  let mirror: Mirror;
  let keys: string;
  let cache: string;
  let fixtureDir: string;
  const cleanups: (() => Promise<void> | void)[] = [];
  before(async () => {
    fixtureDir = mkdtempSync(join(tmpdir(), 'kiln-apk-fixture-'));
    repos = await makeApkRepos(fixtureDir, { architectures: ['x86_64', 'aarch64'] });
    mirror = await startMirror(repos.root);
    keys = readableApkKeys(repos.keysDir, 'alpine');
    cache = imageDir();
  });
  after(async () => {
    await mirror?.close();
    for (const c of cleanups) await c();
    rmSync(keys, { recursive: true, force: true });
    rmSync(fixtureDir, { recursive: true, force: true });
  });

  const toml = (o: { arch: string; mirrorUrl?: string; keyring?: string; base?: string; install?: string[]; format?: string; cacheDir?: string }) =>
    [
      '[distribution]', 'name = "alpine"', 'release = "v3.21"', `architecture = "${o.arch}"`, `mirror = "${o.mirrorUrl ?? `${mirror.url}/alpine`}"`, 'repositories = ["main"]',
      `keyring = [${o.keyring === '' ? '' : `"${o.keyring ?? keys}"`}]`, '', '[packages]', `base = "${o.base ?? 'minimal'}"`, `install = ${JSON.stringify(o.install ?? ['hello', 'docs'])}`,
      '', '[output]', `format = ["${o.format ?? 'directory'}"]`, '', '[build]', `cache-directory = "${o.cacheDir ?? cache}"`, '',
    ].join('\n');

  /** The plan's package (the newest version where the repository holds several). */
  const planned = (arch: ApkMachine, name: string) => apkPackage(repos, arch, name, NEWEST[name]);

  function assertHealthyAlpine(root: string, arch: ApkMachine): void {
    const installed = parseInstalled(readFileSync(join(root, 'lib/apk/db/installed'), 'utf8'));
    assert.deepEqual(installed.map((p) => field(p, 'P')).sort(), MINIMAL_HELLO_PLAN, 'the database lists exactly the planned packages');
    const problems: string[] = [];
    for (const db of installed) {
      const p = planned(arch, field(db, 'P') as string);
      if (field(db, 'V') !== p.version) problems.push(`${p.name}: V:${field(db, 'V')}, expected ${p.version}`);
      else problems.push(...dbDifferences(db, p));
    }
    assert.deepEqual(problems, [], `the installed database carries what the packages carry:\n${problems.join('\n')}`);
    // The tree holds those files, with those modes and bytes.
    const disk: string[] = [];
    for (const name of MINIMAL_HELLO_PLAN) {
      for (const f of planned(arch, name).files) {
        const path = join(root, f.path);
        const st = lstatSync(path, { throwIfNoEntry: false });
        if (!st) {
          disk.push(`${name}: /${f.path} missing`);
          continue;
        }
        const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
        if (type !== f.type) disk.push(`${name}: /${f.path} is a ${type}, expected a ${f.type}`);
        else if (type !== 'symlink' && (st.mode & 0o7777) !== f.mode) disk.push(`${name}: /${f.path} mode ${(st.mode & 0o7777).toString(8)}, expected ${f.mode.toString(8)}`);
        else if (type === 'symlink' && readlinkSync(path) !== f.target) disk.push(`${name}: /${f.path} -> ${readlinkSync(path)}, expected ${f.target}`);
        else if (type === 'file' && !CHANGED_AFTER_UNPACK.has(f.path) && createHash('sha1').update(readFileSync(path)).digest('hex') !== f.sha1) disk.push(`${name}: /${f.path} bytes differ`);
      }
    }
    assert.deepEqual(disk, [], disk.join('\n'));
    // scripts.tar: NAME-VERSION.Q1CHECKSUM.SCRIPT, with the scripts' text.
    const scripts = readTar(readFileSync(join(root, 'lib/apk/db/scripts.tar')));
    const wanted = MINIMAL_HELLO_PLAN.flatMap((n) => planned(arch, n).scripts.map((s) => `${n}-${planned(arch, n).version}.${planned(arch, n).checksum}.${s}`)).sort();
    assert.deepEqual(scripts.map((s) => s.name).sort(), wanted);
    const busybox = planned(arch, 'busybox');
    assert.match(scripts.find((s) => s.name.endsWith('.post-install') && s.name.startsWith('busybox-'))?.body.toString() ?? '', /busybox --install -s/);
    // The trigger database: CHECKSUM then the package's trigger paths.
    assert.match(readFileSync(join(root, 'lib/apk/db/triggers'), 'utf8'), new RegExp(`^${busybox.checksum.replace(/[+/]/g, '\\$&')} ${busybox.triggers.join(' ')}$`, 'm'));
    // The scripts and the trigger ran inside the root, in apk's order.
    const marks = join(root, 'var/lib/kiln-marks');
    assert.equal(readFileSync(join(marks, 'busybox.post-install'), 'utf8'), `busybox post-install ${busybox.version}\n`);
    assert.equal(readFileSync(join(marks, 'alpine-baselayout.pre-install'), 'utf8'), `alpine-baselayout pre-install ${planned(arch, 'alpine-baselayout').version}\n`);
    assert.ok(existsSync(join(marks, 'alpine-baselayout.post-install')));
    assert.match(readFileSync(join(root, 'etc/passwd'), 'utf8'), new RegExp(`^${SERVICE_USER}:x:101:101:`, 'm'), 'the post-install added the service user');
    assert.ok(readFileSync(join(marks, 'busybox.trigger'), 'utf8').split('\n').includes(`/${HOOKS_DIR}`), 'the trigger ran for the watched directory hello filled');
    assert.equal(readlinkSync(join(root, 'bin/ls')), '/bin/busybox', 'busybox --install -s made the applet links');
    // What apk itself reads next time.
    const world = readFileSync(join(root, 'etc/apk/world'), 'utf8').trim().split('\n');
    assert.deepEqual(world, [...world].sort(), 'world is sorted');
    for (const n of ['hello', 'docs']) assert.ok(world.includes(n), `${n} in /etc/apk/world: ${world.join(' ')}`);
    for (const n of ['libhello', 'hello-doc', 'greeter-fancy']) assert.ok(!world.includes(n), `${n} came as a dependency: not in world`);
    assert.equal(readFileSync(join(root, 'etc/apk/repositories'), 'utf8'), `${mirror.url}/alpine/v3.21/main\n`);
    assert.equal(readFileSync(join(root, 'etc/apk/arch'), 'utf8'), `${arch}\n`);
    assert.equal(readFileSync(join(root, 'etc/apk/keys', repos.keyName), 'utf8'), repos.publicKey, 'the trust anchor is in /etc/apk/keys');
    // The resolver's choices: the higher provider_priority, install_if, the newest of tricky versions.
    assert.ok(existsSync(join(root, 'usr/share/greeting/fancy')) && !existsSync(join(root, 'usr/share/greeting/plain')));
    assert.equal(readFileSync(join(root, 'usr/share/kiln-tricky/version'), 'utf8'), '2.0_p1-r3\n');
    assert.equal(readFileSync(join(root, 'usr/share/kiln-snapshot/version'), 'utf8'), '1.0_git20240101-r0\n');
    assert.ok(existsSync(join(root, 'usr/share/doc/hello/README')), 'hello-doc came by install_if');
    assert.ok(existsSync(join(root, 'etc/init.d/hello')), 'the OpenRC service script');
  }

  test('x86_64: the tree and its apk database are what the packages carry; the scripts and the trigger ran', async () => {
    const dir = imageDir(toml({ arch: 'x86_64' }));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assertHealthyAlpine(join(dir, 'out/image'), 'x86_64');
    // Both SBOMs: valid, alike, the scripts' files listed as unowned, apk's database as such, hello's dependencies through so:, cmd: and a virtual name.
    const spdx = JSON.parse(readFileSync(join(dir, 'out/image.spdx.json'), 'utf8')) as unknown;
    const bom = JSON.parse(readFileSync(join(dir, 'out/image.cdx.json'), 'utf8')) as unknown;
    assert.deepEqual([...spdxProblems(spdx), ...cyclonedxProblems(bom)], []);
    const listed = spdxContents(spdx);
    assert.deepEqual(cyclonedxContents(bom), listed);
    assert.equal(listed.files.get('/var/lib/kiln-marks/busybox.post-install')?.kind, 'unowned');
    assert.equal(listed.files.get('/bin/ls')?.kind, 'unowned', 'busybox --install -s made it');
    assert.equal(listed.files.get('/lib/apk/db/installed')?.kind, 'package-database');
    assert.equal(listed.files.has('/usr/bin/hello'), false, 'hello owns it');
    assert.deepEqual(listed.dependsOn.get('hello'), ['greeter-fancy', 'kiln-printf', 'kiln-snapshot', 'kiln-tricky', 'libhello']);
  });

  test('aarch64 (the alias arm64), emulated: busybox runs inside the root, and the tree is what the packages carry', async () => {
    const dir = imageDir(toml({ arch: 'arm64' }));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assertHealthyAlpine(join(dir, 'out/image'), 'aarch64');
    const sh = await kiln(['shell', '-C', dir, '--', '/bin/busybox', 'sh', '-c', 'uname -m; /usr/bin/hello; ls /bin/ls']);
    assert.equal(sh.code, 0, sh.stderr);
    assert.deepEqual(sh.stdout.trim().split('\n'), ['aarch64', 'Hello from the kiln apk fixture', '/bin/ls']);
  });

  test('base = "tiny": busybox, musl, apk-tools, alpine-keys and what install asks for', async () => {
    const dir = imageDir(toml({ arch: 'x86_64', base: 'tiny', install: ['kiln-printf'] }));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const names = parseInstalled(readFileSync(join(dir, 'out/image/lib/apk/db/installed'), 'utf8')).map((p) => field(p, 'P')).sort();
    assert.deepEqual(names, ['alpine-keys', 'apk-tools', 'busybox', 'kiln-printf', 'musl']);
  });

  test('OpenRC service in its runlevel, prune presets say what they removed, kiln inspect lists the largest packages and files', async () => {
    const extra = ['[services]', 'enable = ["hello@boot"]', '', '[prune]', 'presets = ["docs", "apk-cache"]', ''].join('\n');
    const dir = imageDir(`${toml({ arch: 'x86_64' })}\n${extra}`);
    const r = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(r.code, 0, r.stderr);
    const root = join(dir, 'out/image');
    assert.equal(readlinkSync(join(root, 'etc/runlevels/boot/hello')), '/etc/init.d/hello', 'as rc-update add hello boot links it');
    assert.ok(!existsSync(join(root, 'etc/runlevels/default/hello')), 'in the runlevel asked for only');
    assert.match(r.stderr, /^\[prune\] docs: [1-9]\d* paths, [\d.]+ (B|KiB|MiB)$/m);
    assert.match(r.stderr, /^\[prune\] apk-cache: \d+ paths, [\d.]+ (B|KiB|MiB)$/m);
    assert.ok(!existsSync(join(root, 'usr/share/doc/hello/README')), 'docs removed hello-doc\'s README');
    assert.match(r.stderr, /^configure +[\d.]+ s {2}[\d.]+ (KiB|MiB), \d+ paths$/m, 'the tree size after the stage');
    const i = await kiln(['inspect', '--top', '3', root]);
    assert.equal(i.code, 0, i.stderr);
    assert.equal(i.stdout.match(/largest packages:\n((?:  .*\n)+)/)?.[1]?.trim().split('\n').length, 3, i.stdout);
    assert.match(i.stdout, /largest packages:\n {2}.*busybox/, `busybox is the largest package:\n${i.stdout}`);
    assert.equal(i.stdout.match(/largest files:\n((?:  \s*[\d.]+ (?:B|KiB|MiB) {2}\/.*\n)+)/)?.[1]?.trim().split('\n').length, 3, i.stdout);
  });

  test('kiln shell --stage configure with the mirror gone: from the checkpoint alone, left unchanged; two --save of one fix are the same bytes', async () => {
    const own = await startMirror(repos.root);
    let closed = false;
    try {
      const dir = imageDir(toml({ arch: 'x86_64', mirrorUrl: `${own.url}/alpine` }));
      const r = await kiln(['build', '-C', dir]);
      assert.equal(r.code, 0, r.stderr);
      await own.close();
      closed = true;
      const checkpoints = () => checkpointDigests(join(cache, 'checkpoints'));
      const untouched = checkpoints();
      const fix = ['/bin/busybox', 'sh', '-c', 'echo fixed > /etc/fixed; rm /etc/apk/arch'];
      const saves: Buffer[] = [];
      for (const name of ['one', 'two']) {
        const s = await kiln(['shell', '-C', dir, '--stage', 'configure', '--save', name, '--', ...fix]);
        assert.equal(s.code, 0, s.stderr);
        assert.match(s.stderr, new RegExp(`saved the shell's changes as overlays/${name}\\.tar`));
        saves.push(readFileSync(join(dir, 'overlays', `${name}.tar`)));
        // Back to the configuration the build recorded (the drop-in adds the layer to overlay.layers).
        rmSync(join(dir, 'kiln.conf.d', `50-layer-${name}.toml`));
      }
      assert.ok((saves[0] as Buffer).equals(saves[1] as Buffer), 'two saves of the same change: the same bytes');
      const again = await kiln(['shell', '-C', dir, '--stage', 'configure', '--', '/bin/busybox', 'sh', '-c', 'test ! -e /etc/fixed && cat /etc/apk/arch']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, 'x86_64\n', 'the checkpoint does not have the shells\' changes');
      assert.deepEqual(checkpoints(), untouched, 'no checkpoint file changed');
    } finally {
      if (!closed) await own.close();
    }
  });

  for (const kind of APK_VARIANTS) {
    test(`refused with exit 2 and one line naming the file: ${kind}`, async () => {
      const variant = await repos.variant(kind);
      const served = await startMirror(variant.root);
      try {
        const dir = imageDir(toml({ arch: 'x86_64', mirrorUrl: `${served.url}/alpine`, cacheDir: imageDir() }));
        const r = await kiln(['build', '-C', dir]);
        assert.equal(r.code, 2, r.stderr);
        assertOneLineNaming(r.stderr, variant.file);
        if (kind === 'bad-pax-checksum') assertOneLineNaming(r.stderr, `/${TAMPERED_FILE} does not match its APK-TOOLS.checksum.SHA1`);
        assert.ok(!existsSync(join(dir, 'out/image/usr/bin/hello')), 'nothing of the refused package was unpacked');
      } finally {
        await served.close();
      }
    });
  }

  test('no trust anchor (an empty key directory): refused with exit 2 and one line naming the index', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kiln-apk-nokeys-'));
    chmodSync(empty, 0o755);
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    const dir = imageDir(toml({ arch: 'x86_64', keyring: empty, cacheDir: imageDir() }));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 2, r.stderr);
    // The contract: the one line names what was refused (the index) or where no key was found (the directory).
    assertOneLineNaming(r.stderr, 'APKINDEX.tar.gz', empty);
  });

  test('no trust anchor (keyring = [] on a host without /etc/apk/keys): refused with exit 2 and one line naming the setting', async () => {
    const dir = imageDir(toml({ arch: 'x86_64', keyring: '', cacheDir: imageDir() }));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLineNaming(r.stderr, 'distribution.keyring');
    assert.ok(!existsSync(join(dir, 'out/image/bin/busybox')), 'nothing unpacked');
  });
});

/** Every file under `dir` with its size and SHA256 (not its time: using a checkpoint marks its meta.json used, for pruning). */
function checkpointDigests(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((rel) => [rel, lstatSync(join(dir, rel))] as const)
    .filter(([, st]) => st.isFile())
    .map(([rel, st]) => `${rel} ${st.size} ${createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex')}`)
    .sort();
}

/** A user-facing refusal: exactly one error line, and it names the file (a hint line may follow); no stack trace. */
function assertOneLineNaming(stderr: string, ...files: string[]): void {
  const errors = stderr.split('\n').filter((l) => l.startsWith('kiln: error:'));
  assert.equal(errors.length, 1, `one error line:\n${stderr}`);
  assert.ok(files.some((f) => errors[0]?.includes(f)), `the error line names ${files.join(' or ')}:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
}
