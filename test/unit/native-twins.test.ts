/**
 * Native twins: which host packages stand in for a tree's (selectTwins),
 * which programs of the tree as it is are twinned (twinTable), and what the
 * dispatcher does with a program path (its script, run here with the host's
 * sh in place of busybox's, with a stand-in loader and QEMU that say how
 * they were called).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parsePackages, type DebPackage } from '../../src/formats/deb/index.ts';
import { debTwinCandidate, debTwins } from '../../src/formats/deb/twins.ts';
import { selectTwins as selectFor } from '../../src/pipeline/native-twins.ts';
import { countExecutions, dispatcher as dispatcherFor, twinTable as tableFor, DISPATCH_BASE, type TwinTable } from '../../src/pipeline/twin-dispatch.ts';
import type { TwinSet } from '../../src/pipeline/twin-store.ts';
import { ELF, twinFixtureDirs } from './twin-fixture.ts';

// The Debian format's twins (src/formats/deb/twins.ts) through the format-neutral mechanism.
const selectTwins = (tree: { name: string; version: string }[], host: DebPackage[], architecture: string) =>
  selectFor(tree, { architecture, candidates: host.map((p) => debTwinCandidate(p, 'http://mirror.invalid/debian')) }, debTwins);
const twinTable = (root: string, twins: Pick<TwinSet, 'storeDir' | 'programs'>) => tableFor(root, twins, debTwins);
const dispatcher = (table: TwinTable, twins: Pick<TwinSet, 'loader' | 'libraryPath'>, base = DISPATCH_BASE, shell = `${base}/busybox sh`) =>
  dispatcherFor(table, twins, base, shell, debTwins.tree.scriptPackageVariable);

const stanza = (name: string, version: string, arch: string, depends = '') =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nFilename: pool/${name}_${version}_${arch}.deb\nSize: 10\nSHA256: ${'a'.repeat(64)}\n${depends ? `Depends: ${depends}\n` : ''}`;
const index = (...stanzas: string[]) => parsePackages(stanzas.join('\n'), 'test');

test('selectTwins: the host package at exactly the tree version, with its libraries at theirs', () => {
  const tree = [
    { name: 'sed', version: '4.9-1' },
    { name: 'libc6', version: '2.36-9' },
    { name: 'libacl1', version: '2.3.1-3' },
    { name: 'hostname', version: '3.23' },
  ];
  const host = index(stanza('sed', '4.9-1', 'amd64', 'libacl1 (>= 2.2), libc6 (>= 2.34)'), stanza('libc6', '2.36-9', 'amd64'), stanza('libacl1', '2.3.1-3', 'amd64', 'libc6'), stanza('sed', '4.9-1', 'arm64'));
  const { twins, skipped } = selectTwins(tree, host, 'amd64');
  assert.deepEqual(twins.map((t) => `${t.name} ${t.version} ${t.architecture} ${t.role}`).sort(), ['libacl1 2.3.1-3 amd64 library', 'libc6 2.36-9 amd64 library', 'sed 4.9-1 amd64 programs']);
  assert.deepEqual(skipped, []);
});

test('selectTwins: a wrong-version twin is never chosen, nor a program whose library twin has another version', () => {
  const tree = [
    { name: 'sed', version: '4.9-1' },
    { name: 'grep', version: '3.8-5' },
    { name: 'libc6', version: '2.36-9' },
    { name: 'libpcre2-8-0', version: '10.42-1' },
  ];
  const host = index(
    stanza('sed', '4.9-1+b1', 'amd64', 'libc6'),
    stanza('grep', '3.8-5', 'amd64', 'libc6, libpcre2-8-0'),
    stanza('libc6', '2.36-9', 'amd64'),
    stanza('libpcre2-8-0', '10.42-2', 'amd64'),
  );
  const { twins, skipped } = selectTwins(tree, host, 'amd64');
  assert.deepEqual(twins, []);
  assert.deepEqual(skipped, [
    { name: 'sed', why: 'amd64 has 4.9-1+b1, the tree 4.9-1' },
    { name: 'grep', why: "its library libpcre2-8-0 10.42-1 has no amd64 twin at the tree's version" },
  ]);
});

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** A tree with dpkg's status and md5sums for coreutils, dpkg and sed, and a twin store with their host programs. */
function fixture(opts: { sedVersion?: string; sedReplaced?: boolean } = {}) {
  const { root, store, put } = twinFixtureDirs('kiln-twins-');
  const foreign = (name: string) => Buffer.concat([ELF, Buffer.from(`arm64 ${name}`)]);
  const packages: Record<string, { version: string; files: string[] }> = {
    coreutils: { version: '9.1-1', files: ['bin/cat', 'bin/uname', 'usr/bin/basename'] },
    dpkg: { version: '1.21.23', files: ['usr/bin/dpkg', 'usr/bin/dpkg-divert', 'usr/bin/dpkg-query', 'usr/bin/dpkg-trigger', 'usr/bin/update-alternatives'] },
    systemd: { version: '252.39-1~deb12u2', files: ['usr/bin/systemctl', 'usr/bin/systemd-tmpfiles'] },
    sed: { version: '4.9-1', files: ['bin/sed'] },
    kmod: { version: '30+20221128-1', files: ['bin/kmod'] },
    cpio: { version: '2.13+dfsg-7.1', files: ['bin/cpio', 'bin/mt-gnu'] },
  };
  let status = '';
  for (const [name, p] of Object.entries(packages)) {
    const version = name === 'sed' && opts.sedVersion ? opts.sedVersion : p.version;
    status += `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\n\n`;
    const sums = p.files.map((f) => `${md5(foreign(f))}  ${f}`).join('\n');
    put(join(root, `var/lib/dpkg/info/${name}.md5sums`), sums + '\n', 0o644);
    for (const f of p.files) {
      put(join(root, f), name === 'sed' && opts.sedReplaced ? Buffer.from('#!/bin/sh\n') : foreign(f));
      put(join(store, `${name}_${p.version}_amd64`, f), Buffer.concat([ELF, Buffer.from(`amd64 ${f}`)]));
    }
  }
  put(join(store, 'sed_4.9-1_amd64/bin/sed.sh'), '#!/bin/sh\n');
  put(join(root, 'var/lib/dpkg/status'), status, 0o644);
  const programs = Object.entries(packages).map(([name, p]) => ({ name, version: p.version, dir: `${name}_${p.version}_amd64` }));
  return { root, twins: { storeDir: store, programs } };
}

test('twinTable: ELF programs of twinned packages at the tree version, never uname; of dpkg update-alternatives and dpkg-divert (not dpkg-query, dpkg-trigger), and dpkg only for its pure version checks; of systemd systemctl only', () => {
  const { root, twins } = fixture();
  const table = twinTable(root, twins);
  assert.deepEqual(table.programs.map((p) => p.path), ['/bin/cat', '/usr/bin/basename', '/usr/bin/dpkg', '/usr/bin/dpkg-divert', '/usr/bin/update-alternatives', '/usr/bin/systemctl', '/bin/sed', '/bin/kmod', '/bin/cpio']);
  assert.deepEqual(table.programs.find((p) => p.path === '/usr/bin/dpkg')?.firstArgs, ['--validate-version', '--compare-versions']);
  assert.equal(table.programs.find((p) => p.path === '/usr/bin/update-alternatives')?.firstArgs, undefined);
  assert.deepEqual(table.programs.find((p) => p.path === '/bin/sed'), { path: '/bin/sed', twin: 'sed_4.9-1_amd64/bin/sed', names: ['sed'] });
  assert.deepEqual(table.unused, []);
});

test('twinTable: mkinitramfs’s module tools run from the kmod twin as modinfo, modprobe and depmod (not insmod, rmmod, lsmod), and cpio', () => {
  const { root, twins } = fixture();
  const table = twinTable(root, twins);
  assert.deepEqual(table.programs.find((p) => p.path === '/bin/kmod'), { path: '/bin/kmod', twin: 'kmod_30+20221128-1_amd64/bin/kmod', names: ['kmod', 'modinfo', 'modprobe', 'depmod'] });
  assert.deepEqual(table.programs.find((p) => p.path === '/bin/cpio')?.names, ['cpio']);
  assert.ok(!table.programs.some((p) => p.path === '/bin/mt-gnu'));
});

test('twinTable: a twin whose version differs from the tree’s package is not used', () => {
  const { root, twins } = fixture({ sedVersion: '4.9-1+kiln1' });
  const table = twinTable(root, twins);
  assert.ok(!table.programs.some((p) => p.path === '/bin/sed'));
  assert.deepEqual(table.unused, [{ name: 'sed', why: 'the tree has 4.9-1+kiln1, the twin is 4.9-1' }]);
});

test('twinTable: a program the tree no longer has as its package shipped it (md5sums) is not twinned', () => {
  const { root, twins } = fixture({ sedReplaced: true });
  assert.ok(!twinTable(root, twins).programs.some((p) => p.path === '/bin/sed'));
});

/** Runs the dispatcher for `argv` (the program's path first) with the host's sh; returns what ran and the log. */
function dispatch(table: TwinTable, argv: string[], env: Record<string, string> = {}) {
  const base = mkdtempSync(join(tmpdir(), 'kiln-dispatch-'));
  mkdirSync(join(base, 'log'));
  writeFileSync(join(base, 'log/execs'), '');
  mkdirSync(join(base, 'twins/libc6/lib'), { recursive: true });
  writeFileSync(join(base, 'twins/libc6/lib/ld.so'), '#!/bin/sh\necho loader "$@"\n', { mode: 0o755 });
  writeFileSync(join(base, 'qemu'), '#!/bin/sh\necho qemu "$@"\n', { mode: 0o755 });
  const script = join(base, 'dispatch');
  const made = dispatcher(table, { loader: 'libc6/lib/ld.so', libraryPath: ['libc6/lib', 'libacl1/lib'] }, base, '/bin/sh');
  writeFileSync(script, made.script);
  mkdirSync(join(base, 'names'));
  for (const [name, lines] of made.byName) writeFileSync(join(base, 'names', name), lines);
  chmodSync(script, 0o755);
  const r = spawnSync('/bin/sh', [script, ...argv], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
  return { out: r.stdout.trim(), log: readFileSync(join(base, 'log/execs'), 'utf8'), base };
}

test('the dispatcher: a twinned program (by any of its names) through the twin loader with the same argv[0]; anything else, or with LD_PRELOAD, under QEMU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-progs-'));
  for (const name of ['sed', 'dash', 'other-sed']) writeFileSync(join(dir, name), ELF, { mode: 0o755 });
  symlinkSync('dash', join(dir, 'sh'));
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'elsewhere/sed'), ELF, { mode: 0o755 });
  const table: TwinTable = {
    programs: [
      { path: join(dir, 'sed'), twin: 'sed/bin/sed', names: ['sed'] },
      { path: join(dir, 'dash'), twin: 'dash/bin/dash', names: ['dash', 'sh'] },
    ],
    unused: [],
  };
  const twinned = dispatch(table, [join(dir, 'sed'), '-e', 's/a b/c/']);
  assert.equal(twinned.out, `loader --library-path ${twinned.base}/twins/libc6/lib:${twinned.base}/twins/libacl1/lib --argv0 ${dir}/sed ${twinned.base}/twins/sed/bin/sed -e s/a b/c/`);
  const alias = dispatch(table, [join(dir, 'sh'), '-c', 'true']);
  assert.match(alias.out, new RegExp(`^loader .* --argv0 ${dir}/sh ${alias.base}/twins/dash/bin/dash -c true$`));
  const sameName = dispatch(table, [join(dir, 'elsewhere/sed'), '-n']);
  assert.equal(sameName.out, `qemu ${dir}/elsewhere/sed -n`);
  const preload = dispatch(table, [join(dir, 'sed')], { LD_PRELOAD: '/usr/lib/libfoo.so' });
  assert.equal(preload.out, `qemu ${dir}/sed`);
  const counts = countExecutions(twinned.log + alias.log + sameName.log + preload.log);
  assert.match(twinned.log, /^n - /);
  assert.equal(counts.native, 2);
  assert.equal(counts.emulated, 2);
  assert.equal(counts.byPath.get(`e ${dir}/sed`), 1);
});

test('the dispatcher: a stand-in (the tree\'s perl started by name) runs its native command with the arguments, logged as native; another perl under QEMU', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-progs-'));
  writeFileSync(join(dir, 'perl'), ELF, { mode: 0o755 });
  writeFileSync(join(dir, 'perl5.36'), ELF, { mode: 0o755 });
  const wrapper = join(dir, 'native-perl');
  writeFileSync(wrapper, '#!/bin/sh\necho native-perl "$@"\n', { mode: 0o755 });
  const table: TwinTable = { programs: [{ path: join(dir, 'perl'), twin: '', names: ['perl'], command: wrapper }], unused: [] };
  const ran = dispatch(table, [join(dir, 'perl'), '-e', '']);
  assert.equal(ran.out, 'native-perl -e');
  assert.equal(ran.log, `n - ${dir}/perl\n`);
  assert.equal(dispatch(table, [join(dir, 'perl5.36'), '-v']).out, `qemu ${dir}/perl5.36 -v`);
});

test('the dispatcher reads only the lines of the program’s own name: its script is the same however many programs are twinned', () => {
  const twins = { loader: 'libc6/lib/ld.so', libraryPath: ['libc6/lib', 'libacl1/lib'] };
  const program = (i: number) => ({ path: `/usr/bin/p${i}`, twin: `coreutils/usr/bin/p${i}`, names: [`p${i}`] });
  const one = dispatcher({ programs: [program(0)], unused: [] }, twins);
  const many = dispatcher({ programs: Array.from({ length: 200 }, (_, i) => program(i)), unused: [] }, twins);
  assert.equal(many.script, one.script);
  assert.equal(many.byName.size, 200);
  assert.equal(many.byName.get('p7'), one.byName.get('p0')?.replace(/p0/g, 'p7'));
  assert.doesNotMatch(one.script, /p0/);
});

test('the dispatcher: a program limited to some first arguments runs natively with those only (dpkg --compare-versions, not dpkg --print-architecture)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-progs-'));
  writeFileSync(join(dir, 'dpkg'), ELF, { mode: 0o755 });
  const table: TwinTable = { programs: [{ path: join(dir, 'dpkg'), twin: 'dpkg/usr/bin/dpkg', names: ['dpkg'], firstArgs: ['--validate-version', '--compare-versions'] }], unused: [] };
  const compare = dispatch(table, [join(dir, 'dpkg'), '--compare-versions', '1.0', 'lt', '2.0']);
  assert.match(compare.out, new RegExp(`^loader .* --argv0 ${dir}/dpkg ${compare.base}/twins/dpkg/usr/bin/dpkg --compare-versions 1.0 lt 2.0$`));
  const validate = dispatch(table, [join(dir, 'dpkg'), '--validate-version', '1:2.3-4']);
  assert.match(validate.out, /^loader .* --validate-version 1:2\.3-4$/);
  for (const args of [['--print-architecture'], ['--configure', '--compare-versions'], []]) {
    const other = dispatch(table, [join(dir, 'dpkg'), ...args]);
    assert.equal(other.out, ['qemu', join(dir, 'dpkg'), ...args].join(' '));
    assert.match(other.log, /^e - /);
  }
});

test('libraryDirs: a twin’s TRIPLET directories and their subdirectories of private libraries (libsystemd-shared’s systemd/), not other subdirectories', async () => {
  const { libraryDirs } = await import('../../src/pipeline/twin-store.ts');
  const store = mkdtempSync(join(tmpdir(), 'kiln-twin-store-'));
  const put = (rel: string) => {
    mkdirSync(dirname(join(store, rel)), { recursive: true });
    writeFileSync(join(store, rel), '');
  };
  put('libsystemd-shared_252_amd64/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so');
  put('libsystemd-shared_252_amd64/usr/lib/x86_64-linux-gnu/other/README');
  put('libc6_2.36_amd64/lib/x86_64-linux-gnu/libc.so.6');
  put('libc6_2.36_amd64/usr/share/doc/libc6/copyright');
  assert.deepEqual(libraryDirs(store, 'libsystemd-shared_252_amd64'), ['libsystemd-shared_252_amd64/usr/lib/x86_64-linux-gnu', 'libsystemd-shared_252_amd64/usr/lib/x86_64-linux-gnu/systemd']);
  assert.deepEqual(libraryDirs(store, 'libc6_2.36_amd64'), ['libc6_2.36_amd64/lib/x86_64-linux-gnu']);
});

test('oneLibraryDirectory: one directory of links, the first directory’s file for each name, reused; the list kept beside glibc-hwcaps', async () => {
  const { oneLibraryDirectory } = await import('../../src/pipeline/twin-store.ts');
  const store = mkdtempSync(join(tmpdir(), 'kiln-twin-libraries-'));
  const put = (rel: string, text: string) => {
    mkdirSync(dirname(join(store, rel)), { recursive: true });
    writeFileSync(join(store, rel), text);
  };
  put('a_1_amd64/lib/x86_64-linux-gnu/libc.so.6', 'libc of a');
  put('a_1_amd64/lib/x86_64-linux-gnu/private/libp.so.1', 'private');
  put('b_1_amd64/usr/lib/x86_64-linux-gnu/libc.so.6', 'libc of b');
  put('b_1_amd64/usr/lib/x86_64-linux-gnu/libz.so.1.2.13', 'zlib');
  symlinkSync('libz.so.1.2.13', join(store, 'b_1_amd64/usr/lib/x86_64-linux-gnu/libz.so.1'));
  const dirs = ['a_1_amd64/lib/x86_64-linux-gnu', 'b_1_amd64/usr/lib/x86_64-linux-gnu'];
  const [one, ...more] = await oneLibraryDirectory(store, dirs);
  assert.equal(more.length, 0);
  assert.match(one!, /^libraries\/[0-9a-f]{32}$/);
  const read = (name: string) => readFileSync(join(store, one!, name), 'utf8');
  assert.equal(read('libc.so.6'), 'libc of a');
  assert.equal(read('libz.so.1'), 'zlib');
  assert.equal(read('libz.so.1.2.13'), 'zlib');
  assert.throws(() => read('private'));
  assert.deepEqual(await oneLibraryDirectory(store, dirs), [one]);
  assert.notDeepEqual(await oneLibraryDirectory(store, [...dirs].reverse()), [one]);
  mkdirSync(join(store, 'b_1_amd64/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3'), { recursive: true });
  assert.deepEqual(await oneLibraryDirectory(store, dirs), dirs);
});

test('selectTwins: a library package of architecture all (libaudit-common, systemd’s closure) is in the closure at the tree’s version', () => {
  const tree = [
    { name: 'systemd', version: '252.39-1' },
    { name: 'libc6', version: '2.36-9' },
    { name: 'libaudit1', version: '1:3.0.9-1' },
    { name: 'libaudit-common', version: '1:3.0.9-1' },
  ];
  const host = index(stanza('systemd', '252.39-1', 'amd64', 'libc6, libaudit1'), stanza('libc6', '2.36-9', 'amd64'), stanza('libaudit1', '1:3.0.9-1', 'amd64', 'libaudit-common (>= 1:3.0.9-1), libc6'), stanza('libaudit-common', '1:3.0.9-1', 'all'));
  const { twins, skipped } = selectTwins(tree, host, 'amd64');
  assert.deepEqual(skipped, []);
  assert.deepEqual(twins.map((t) => `${t.name} ${t.architecture} ${t.role}`).sort(), ['libaudit-common all library', 'libaudit1 amd64 library', 'libc6 amd64 library', 'systemd amd64 programs']);
});

test('selectTwins: a library outside the lib* names (zlib1g, section libs) is in the closure too', () => {
  const tree = [
    { name: 'dpkg', version: '1.21.22' },
    { name: 'libc6', version: '2.36-9' },
    { name: 'zlib1g', version: '1:1.2.13.dfsg-1' },
    { name: 'tar', version: '1.34+dfsg-1.2' },
  ];
  const libs = (name: string, version: string) => `${stanza(name, version, 'amd64')}Section: libs\n`;
  const host = index(stanza('dpkg', '1.21.22', 'amd64', 'libc6, zlib1g (>= 1:1.1.4), tar (>= 1.28-1)'), libs('libc6', '2.36-9'), libs('zlib1g', '1:1.2.13.dfsg-1'), stanza('tar', '1.34+dfsg-1.2', 'amd64'));
  const { twins } = selectTwins(tree, host, 'amd64');
  assert.deepEqual(twins.map((t) => `${t.name} ${t.role}`).sort(), ['dpkg programs', 'libc6 library', 'zlib1g library']);
  const older = index(stanza('dpkg', '1.21.22', 'amd64', 'libc6, zlib1g'), libs('libc6', '2.36-9'), libs('zlib1g', '1:1.2.13.dfsg-2'));
  assert.deepEqual(selectTwins(tree, older, 'amd64').skipped, [{ name: 'dpkg', why: "its library zlib1g 1:1.2.13.dfsg-1 has no amd64 twin at the tree's version" }]);
});

test('countExecutions and the script ledger: native helpers, fully emulated, no scripts', async () => {
  const { scriptLedger } = await import('../../src/pipeline/script-ledger.ts');
  const counts = countExecutions(['n base-files /bin/dash', 'e base-files /usr/bin/dpkg', 'e passwd /usr/sbin/shadowconfig', 'e - /usr/bin/dpkg', 'n - /bin/dash with space', 'garbage'].join('\n'));
  assert.equal(counts.native, 2);
  assert.equal(counts.emulated, 3);
  assert.equal(counts.byPath.get('n /bin/dash with space'), 1);
  assert.deepEqual(Object.fromEntries(counts.byPackage), { 'base-files': { native: 1, emulated: 1 }, passwd: { native: 0, emulated: 1 } });
  const root = mkdtempSync(join(tmpdir(), 'kiln-ledger-'));
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  for (const f of ['base-files.postinst', 'passwd.preinst', 'libc6:arm64.postinst', 'gzip.md5sums']) writeFileSync(join(root, 'var/lib/dpkg/info', f), '');
  const ledger = scriptLedger(root, ['passwd', 'gzip', 'base-files', 'libc6'].map((name) => ({ name, version: '1' })), counts.byPackage, debTwins.tree);
  assert.deepEqual(ledger, { 'base-files': 'native helpers', gzip: 'no scripts', libc6: 'fully emulated', passwd: 'fully emulated' });
});

test('with the host’s binfmt_misc registration, native twins are not used, and that is said once', async () => {
  const { addNativeTwins } = await import('../../src/pipeline/emulation.ts');
  const emulation = { entry: { name: 'qemu-aarch64', magic: '', mask: '', interpreter: '/usr/bin/qemu-aarch64-static' }, mode: 'host' as const, bindInterpreter: false };
  const lines: string[] = [];
  const loaded = { config: { 'build.emulation': 'native-twins' }, distribution: { format: 'deb' } } as unknown as Parameters<typeof addNativeTwins>[1];
  const plan = { packages: [] } as unknown as Parameters<typeof addNativeTwins>[2];
  const store = {} as Parameters<typeof addNativeTwins>[3]['store'];
  const emit = (e: { kind: string; message?: string }) => void (e.kind === 'log' && lines.push(e.message as string));
  const out = await addNativeTwins(emulation, loaded, plan, { cacheDir: '/nonexistent', store, emit });
  assert.equal(out, emulation);
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /^native twins are not used: QEMU comes from the host's binfmt_misc registration/);
});
