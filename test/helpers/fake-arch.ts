/**
 * Real pacman repositories for tests, made from real Debian bookworm binaries:
 * busybox, glibc and bash repackaged merged-/usr as .pkg.tar.zst (built with
 * bsdtar the way makepkg does), signed with a throwaway OpenPGP key, indexed
 * with the real repo-add (so the database carries %PGPSIG%). Two mirror
 * layouts: Arch Linux (`$repo/os/$arch`, repos core and extra) and, for
 * aarch64, Arch Linux ARM (`$arch/$repo`, repos core, extra and alarm).
 *
 * With `debianSet` (test/helpers/fake-arch-debian-set.ts), the repositories
 * also hold the closure of more Debian packages, one pacman package each,
 * and `base` depends on the set's roots: a repository of realistic size.
 *
 * The .debs come from the host's Debian mirror through kiln's own fetcher
 * (InRelease checked against debian-archive-keyring) into a blob store under
 * `cacheDir`; finished repositories are cached there too, keyed by this
 * file's text and the .debs, so a warm run only copies a directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, cp, lstat, lutimes, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { fetchPackagesIndex, fetchRelease } from '../../src/formats/deb/archive.ts';
import { compareVersions } from '../../src/formats/deb/version.ts';
import { BlobStore, downloadToStore } from '../../src/repo/index.ts';
import { silent } from '../../src/util/events.ts';
import { run } from '../../src/util/run.ts';
import { missingTools } from './host-tools.ts';
import { debianSetPackages, type DebianSetPackage, type FakeArchDebianSet } from './fake-arch-debian-set.ts';

export type { FakeArchDebianSet } from './fake-arch-debian-set.ts';

export type FakeArchMachine = 'x86_64' | 'aarch64';
export type FakeArchLayoutName = 'arch' | 'alarm';
/**
 * tampered: bytes changed, database untouched (sha256 and signature fail; the size is kept when it can be).
 * bad-signature: bytes changed, database re-made around the old .sig (only the signature fails).
 * unknown-key: bytes changed, signed by the unknown key, database re-made (only the keyring catches it).
 * The changed package is a valid package that also ships /etc/kiln-tampered.
 */
export type FakeArchVariantKind = 'tampered' | 'bad-signature' | 'unknown-key';

export interface FakeArchPackage {
  repo: string;
  name: string;
  /** [epoch:]pkgver-pkgrel */
  version: string;
  arch: FakeArchMachine | 'any';
  /** NAME-VERSION-ARCH.pkg.tar.zst (an epoch's ':' kept, as Arch does). */
  filename: string;
  sha256: string;
  /** Paths in the package as pacman lists them: no leading '/', directories end in '/'. */
  files: string[];
  depends: string[];
  provides: string[];
  conflicts: string[];
  groups: string[];
  backup: string[];
  hasInstall: boolean;
  /** Bytes installed (.PKGINFO size). */
  installedSize: number;
}

export interface FakeArchLayout {
  name: FakeArchLayoutName;
  /** Directory to serve. */
  root: string;
  /** Below the server's URL: mirror = `${url}/${pattern}`. */
  pattern: string;
  /** In pacman.conf order. */
  repos: string[];
  packages: Partial<Record<FakeArchMachine, FakeArchPackage[]>>;
  /** Directory of one repository (holds REPO.db, the packages and their .sig). */
  dir(arch: FakeArchMachine, repo: string): string;
}

export interface FakeArchVariant {
  kind: FakeArchVariantKind;
  /** Same layout as the original, e.g. dir/repo-tampered. */
  root: string;
  /** The changed package, per architecture (its sha256 is that of the new bytes). */
  changed: Partial<Record<FakeArchMachine, FakeArchPackage>>;
}

export interface FakeArchRepos {
  /** dir/repo: serve it, mirror = `${url}/$repo/os/$arch`. */
  root: string;
  /** dir/repo-alarm (only with aarch64): mirror = `${url}/$arch/$repo`. */
  alarmRoot?: string;
  layouts: { arch: FakeArchLayout; alarm?: FakeArchLayout };
  /** Armored public key that signs every package: the trust anchor. */
  keyring: string;
  /** The same key in binary form (for gpgv --keyring). */
  keyringBinary: string;
  /** 40 upper-case hex digits. */
  keyFingerprint: string;
  /** Armored public key of the second, untrusted key (signs the unknown-key variant). */
  unknownKeyring: string;
  unknownKeyFingerprint: string;
  /** The Arch layout's packages per architecture (= layouts.arch.packages). */
  packages: Partial<Record<FakeArchMachine, FakeArchPackage[]>>;
  /** Names `base` resolves to, sorted (the same for both layouts). */
  baseSet: Partial<Record<FakeArchMachine, string[]>>;
  /** Builds (once) a copy of a layout where `package` (default busybox) is changed in every architecture. */
  variant(kind: FakeArchVariantKind, opts?: { package?: string; layout?: FakeArchLayoutName }): Promise<FakeArchVariant>;
}

const DEBIAN_ARCH: Record<FakeArchMachine, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const DEBIAN_RELEASE = 'bookworm';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const DEBS = ['busybox-static', 'libc6', 'bash', 'libtinfo6'];
/** Build dates and file times: fixed, so that the .MTREE and the tar members do not depend on when a fixture was made. */
const EPOCH = 1_747_699_200; // 2025-05-20
const PACKAGER = 'kiln tests <packager@kiln.invalid>';
const LAYOUTS = {
  arch: { pattern: '$repo/os/$arch', repos: ['core', 'extra'], dir: (a: string, r: string) => join(r, 'os', a), keyring: 'archlinux' },
  alarm: { pattern: '$arch/$repo', repos: ['core', 'extra', 'alarm'], dir: (a: string, r: string) => join(a, r), keyring: 'archlinuxarm' },
} as const;
/** Debian's split-/usr directories and where merged-/usr Arch keeps them. */
const USR_MERGE: [string, string][] = [['/lib64', '/usr/lib'], ['/lib', '/usr/lib'], ['/bin', '/usr/bin'], ['/sbin', '/usr/bin'], ['/usr/sbin', '/usr/bin']];
const DROPPED = ['/usr/share/doc', '/usr/share/man', '/usr/share/info', '/usr/share/locale', '/usr/share/lintian', '/usr/share/bug', '/usr/share/doc-base', '/usr/share/menu'];
const META = ['.BUILDINFO', '.MTREE', '.PKGINFO', '.INSTALL'];

export function defaultFakeArchCache(): string {
  return join(tmpdir(), 'kiln-fake-arch-cache');
}

/** Where the list of .debs for `machine` (and `set`) is kept; a set's name carries a hash of its roots and of how it is resolved. */
function debsManifest(cacheDir: string, machine: FakeArchMachine, set?: FakeArchDebianSet): string {
  if (!set) return join(cacheDir, `debs-${DEBIAN_ARCH[machine]}.json`);
  const resolver = readFileSync(fileURLToPath(new URL('./fake-arch-debian-set.ts', import.meta.url)));
  const id = createHash('sha256').update(resolver).update(set.roots.join(' ')).digest('hex').slice(0, 12);
  return join(cacheDir, `debs-${DEBIAN_ARCH[machine]}-${set.name}-${id}.json`);
}

/** Why the repositories cannot be made here, or undefined when they can. */
export function fakeArchSkipReason(architectures: FakeArchMachine[], cacheDir = defaultFakeArchCache(), debianSet?: FakeArchDebianSet): string | undefined {
  const tools = missingTools(['repo-add', 'bsdtar', 'dpkg-deb']);
  if (tools) return tools;
  const warm = architectures.every((a) => existsSync(debsManifest(cacheDir, a, debianSet)));
  if (!warm && !hostMirrorFor('debian')) return 'the host has no Debian mirror to take busybox, libc6 and bash from';
  return undefined;
}

// ---------------------------------------------------------------- Debian side

interface Deb {
  name: string;
  version: string;
  sha256: string;
  path: string;
  /** Set for a package of the Debian set (one pacman package of its own). */
  set?: DebianSetPackage;
}

/** The .debs for one architecture: from the manifest of a previous run when all blobs are there, else fetched. */
async function debianDebs(machine: FakeArchMachine, cacheDir: string, debianSet?: FakeArchDebianSet): Promise<Deb[]> {
  const store = new BlobStore(cacheDir);
  const manifest = debsManifest(cacheDir, machine, debianSet);
  try {
    const debs = JSON.parse(await readFile(manifest, 'utf8')) as Deb[];
    if ((await Promise.all(debs.map((d) => store.has(d.sha256)))).every(Boolean)) return debs.map((d) => ({ ...d, path: store.pathFor(d.sha256) }));
  } catch {
    /* first run */
  }
  const mirror = hostMirrorFor('debian');
  if (!mirror) throw new Error('no Debian mirror on this host (see fakeArchSkipReason)');
  const access = { store, emit: silent, keyring: [DEBIAN_KEYRING], warnings: [] };
  const release = await fetchRelease(access, mirror, DEBIAN_RELEASE);
  const index = await fetchPackagesIndex(access, mirror, DEBIAN_RELEASE, release, `main/binary-${DEBIAN_ARCH[machine]}/Packages`);
  const small = await Promise.all(
    DEBS.map(async (name) => {
      const best = index.filter((p) => p.name === name).sort((a, b) => compareVersions(b.version, a.version))[0];
      if (!best) throw new Error(`${name} is not in ${mirror} ${DEBIAN_RELEASE} ${DEBIAN_ARCH[machine]}`);
      const blob = await downloadToStore(store, { urls: [`${mirror}/${best.filename}`], sha256: best.sha256, size: best.size, name }, {});
      return { name, version: best.version, sha256: blob.sha256, path: blob.path };
    }),
  );
  const extra = await Promise.all(
    (debianSet ? debianSetPackages(index, debianSet.roots) : []).map(async (set) => {
      const blob = await downloadToStore(store, { urls: [`${mirror}/${set.filename}`], sha256: set.sha256, size: set.size, name: set.name }, {});
      return { name: set.name, version: set.version, sha256: blob.sha256, path: blob.path, set };
    }),
  );
  const debs: Deb[] = [...small, ...extra];
  await writeAtomic(manifest, JSON.stringify(debs, null, 1));
  return debs;
}

/** Debian [epoch:]upstream-revision → Arch [epoch:]pkgver-pkgrel (pkgrel = the revision's leading number). */
export function archVersion(debian: string): string {
  const m = /^(?:(\d+):)?(.+?)(?:-([^-]+))?$/.exec(debian);
  if (!m) throw new Error(`not a Debian version: ${debian}`);
  const pkgver = (m[2] as string).replace(/[^A-Za-z0-9._+]/g, '_');
  return `${m[1] ? `${m[1]}:` : ''}${pkgver}-${/^\d+/.exec(m[3] ?? '')?.[0] ?? '1'}`;
}

function usrMerged(path: string): string {
  for (const [from, to] of USR_MERGE) if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
  return path;
}

/** Moves an extracted .deb tree into `stage`, merged-/usr, without docs; symlinks become relative to their new place. */
async function stageDeb(tree: string, stage: string, rel = '/'): Promise<void> {
  for (const entry of await readdir(join(tree, rel), { withFileTypes: true })) {
    const path = posix.join(rel, entry.name);
    const dest = usrMerged(path);
    if (DROPPED.some((d) => dest === d || dest.startsWith(`${d}/`))) continue;
    if (entry.isDirectory()) {
      await mkdirs(stage, dest, (await lstat(join(tree, path))).mode & 0o7777);
      await stageDeb(tree, stage, path);
    } else if (entry.isSymbolicLink()) {
      const target = await readlink(join(tree, path));
      const absolute = usrMerged(posix.resolve(posix.dirname(path), target));
      // /sbin/ip -> /bin/ip: both are usr/bin/ip once merged; the file wins.
      if (absolute === dest || existsSync(join(stage, dest))) continue;
      await symlink(posix.relative(posix.dirname(dest), absolute) || '.', join(stage, dest));
    } else {
      await rename(join(tree, path), join(stage, dest));
    }
  }
}

// ------------------------------------------------------------- package specs

type Entry = { text: string; mode?: number } | { link: string } | { dir: true; mode?: number };

interface Spec {
  name: string;
  version: string;
  arch: FakeArchMachine | 'any';
  desc: string;
  /** Repository per layout. */
  repo: { arch: string; alarm: string };
  debs?: string[];
  depends?: string[];
  provides?: string[];
  conflicts?: string[];
  groups?: string[];
  backup?: string[];
  tree?: Record<string, Entry>;
  install?: string;
}

const HOOK = `[Trigger]
Type = Path
Operation = Install
Target = usr/share/kiln-marks/*

[Action]
Description = Recording the kiln-marks files for the kiln tests...
When = PostTransaction
Exec = /bin/sh -c 'while read -r f; do echo "$f"; done > /var/lib/kiln-test/hook-ran'
NeedsTargets
`;

const BASH_INSTALL = `post_install() {
  echo "bash post_install $1" > /var/lib/kiln-test/bash-post-install
}
`;

/** pre_install lives here, not in bash: pacman runs scriptlets with /bin/sh, which bash's own pre_install would not find. */
const HOOK_INSTALL = `pre_install() {
  echo "kiln-hook pre_install $1" > /var/lib/kiln-test/kiln-hook-pre-install
}

post_install() {
  echo "kiln-hook post_install $1" > /var/lib/kiln-test/kiln-hook-post-install
}
`;

function specs(machine: FakeArchMachine, layout: FakeArchLayoutName, debs: Deb[], key: { armored: string; fingerprint: string }): Spec[] {
  const version = (name: string) => archVersion(debs.find((d) => d.name === name)?.version ?? '0');
  const keyring = LAYOUTS[layout].keyring;
  const dirs = (mode: number, ...paths: string[]) => Object.fromEntries(paths.map((p) => [p, { dir: true, mode } as Entry]));
  return [
    {
      name: 'filesystem', version: '2025.05.20-1', arch: machine, desc: 'Base merged-/usr file system layout', repo: { arch: 'core', alarm: 'core' },
      backup: ['etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow', 'etc/hosts', 'etc/shells'],
      tree: {
        ...dirs(0o755, 'etc', 'var', 'var/lib', 'var/cache', 'var/log', 'home', 'usr', 'usr/bin', 'usr/lib', 'usr/share', 'run', 'dev'),
        ...dirs(0o555, 'proc', 'sys'),
        ...dirs(0o1777, 'tmp', 'var/tmp'),
        root: { dir: true, mode: 0o750 },
        bin: { link: 'usr/bin' }, sbin: { link: 'usr/bin' }, lib: { link: 'usr/lib' }, 'usr/sbin': { link: 'bin' },
        ...(machine === 'x86_64' ? { lib64: { link: 'usr/lib' } } : {}),
        'etc/passwd': { text: 'root:x:0:0::/root:/bin/bash\nnobody:x:65534:65534:Nobody:/:/usr/bin/nologin\n' },
        'etc/group': { text: 'root:x:0:root\nnobody:x:65534:\n' },
        'etc/shadow': { text: 'root:*:20000::::::\nnobody:!*:20000::::::\n', mode: 0o600 },
        'etc/gshadow': { text: 'root:::root\nnobody:!::\n', mode: 0o600 },
        'etc/hosts': { text: '127.0.0.1 localhost\n::1 localhost\n' },
        'etc/shells': { text: '/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n' },
        // The same in both layouts: a package is built once per name, version and architecture.
        'usr/lib/os-release': { text: 'NAME="Arch Linux (kiln test)"\nID=arch\nPRETTY_NAME="Arch Linux (kiln test)"\n' },
        'etc/os-release': { link: '../usr/lib/os-release' },
      },
    },
    { name: 'glibc', version: version('libc6'), arch: machine, desc: 'GNU C Library (Debian libc6)', repo: { arch: 'core', alarm: 'core' }, debs: ['libc6'], depends: ['filesystem'], provides: ['libc.so=6-64'] },
    {
      name: 'bash', version: version('bash'), arch: machine, desc: 'GNU Bourne Again shell (Debian bash, libtinfo6)', repo: { arch: 'core', alarm: 'core' },
      debs: ['bash', 'libtinfo6'], depends: ['glibc', 'libc.so=6-64'], provides: ['sh'], install: BASH_INSTALL,
      tree: { 'usr/bin/sh': { link: 'bash' }, 'var/lib/kiln-test': { dir: true, mode: 0o755 } },
    },
    {
      name: 'busybox', version: version('busybox-static'), arch: machine, desc: 'Utilities for rescue and embedded systems (Debian busybox-static)', repo: { arch: 'extra', alarm: 'extra' },
      debs: ['busybox-static'], provides: [`sh=${version('busybox-static').replace(/^\d+:/, '').replace(/-[^-]*$/, '')}`], conflicts: ['toybox'],
    },
    { name: 'toybox', version: '0.8.9-1', arch: 'any', desc: 'Stands in for busybox (conflicts with it)', repo: { arch: 'extra', alarm: 'extra' }, conflicts: ['busybox'], tree: { 'usr/share/toybox/README': { text: 'toybox for kiln tests\n' } } },
    { name: 'kiln-hook', version: '1.0-1', arch: 'any', desc: 'An alpm hook that records kiln-marks files', repo: { arch: 'extra', alarm: 'alarm' }, depends: ['bash'], install: HOOK_INSTALL, tree: { 'usr/share/libalpm/hooks/50-kiln-test.hook': { text: HOOK } } },
    {
      name: 'kiln-marks', version: '1.0-1', arch: 'any', desc: 'Files that trigger the kiln-hook', repo: { arch: 'extra', alarm: 'extra' }, groups: ['kiln-group'], depends: ['sh>=1.0'],
      tree: { 'usr/share/kiln-marks/first': { text: 'first mark\n' }, 'usr/share/kiln-marks/second': { text: 'second mark\n' } },
    },
    { name: 'kiln-extra-tool', version: '2.1-3', arch: 'any', desc: 'A second member of kiln-group', repo: { arch: 'extra', alarm: 'extra' }, groups: ['kiln-group'], tree: { 'usr/share/kiln-extra-tool/README': { text: 'extra tool\n' } } },
    {
      name: `${keyring}-keyring`, version: '20250520-1', arch: 'any', desc: 'Throwaway packager key for kiln tests', repo: { arch: 'core', alarm: 'alarm' },
      tree: {
        [`usr/share/pacman/keyrings/${keyring}.gpg`]: { text: key.armored },
        [`usr/share/pacman/keyrings/${keyring}-trusted`]: { text: `${key.fingerprint}:4:\n` },
        [`usr/share/pacman/keyrings/${keyring}-revoked`]: { text: '' },
      },
    },
    {
      name: 'base', version: '3-1', arch: 'any', desc: 'Minimal package set for a kiln test system', repo: { arch: 'core', alarm: 'core' },
      depends: ['filesystem', 'glibc', 'bash', 'busybox', ...debs.flatMap((d) => (d.set?.root ? [d.name] : []))],
    },
    ...debs.flatMap((d): Spec[] => (d.set ? [debianSetSpec(d.set, machine)] : [])),
  ];
}

/** A package of the Debian set: the .deb's files, merged-/usr, and its dependencies by pacman name. */
function debianSetSpec(set: DebianSetPackage, machine: FakeArchMachine): Spec {
  return { name: set.name, version: archVersion(set.version), arch: set.any ? 'any' : machine, desc: `Debian ${set.name} ${set.version}`, repo: { arch: 'core', alarm: 'core' }, debs: [set.name], depends: set.depends };
}

/** The names `base` pulls in: by name first, else the first provider (versions ignored; pacman -Sp in the test confirms). */
function closure(packages: FakeArchPackage[], root: string): string[] {
  const seen = new Set<string>();
  const visit = (relation: string): void => {
    const name = relation.replace(/[<>=].*$/, '');
    const pkg = packages.find((p) => p.name === name) ?? packages.find((p) => p.provides.some((q) => q.replace(/=.*$/, '') === name));
    if (!pkg || seen.has(pkg.name)) return;
    seen.add(pkg.name);
    pkg.depends.forEach(visit);
  };
  visit(root);
  return [...seen].sort();
}

// ------------------------------------------------------------ building

interface Key {
  secret: openpgp.PrivateKey;
  armored: string;
  fingerprint: string;
}

async function makeKey(dir: string, name: string, label: string): Promise<Key> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: label, email: `${name}@kiln.invalid` }], format: 'object' });
  await writeFile(join(dir, `${name}.asc`), publicKey.armor());
  await writeFile(join(dir, `${name}.gpg`), publicKey.write());
  await writeFile(join(dir, `${name}.secret.asc`), privateKey.armor(), { mode: 0o600 });
  return { secret: privateKey, armored: publicKey.armor(), fingerprint: publicKey.getFingerprint().toUpperCase() };
}

async function sign(file: string, key: openpgp.PrivateKey): Promise<void> {
  const message = await openpgp.createMessage({ binary: await readFile(file) });
  await writeFile(`${file}.sig`, await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' }));
}

/** Paths below `stage` in depth-first order, parents first, siblings in byte order; metadata files left out. */
async function listTree(stage: string, rel = ''): Promise<{ path: string; dir: boolean; size: number }[]> {
  const out: { path: string; dir: boolean; size: number }[] = [];
  const entries = (await readdir(join(stage, rel), { withFileTypes: true })).filter((e) => rel !== '' || !META.includes(e.name));
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    const dir = entry.isDirectory();
    out.push({ path, dir, size: entry.isFile() ? (await lstat(join(stage, path))).size : 0 });
    if (dir) out.push(...(await listTree(stage, path)));
  }
  return out;
}

const ROOT_OWNER = ['--uid', '0', '--gid', '0', '--uname', 'root', '--gname', 'root'];

/**
 * Writes .MTREE and the .pkg.tar.zst the way makepkg does; returns the package's paths as pacman lists them.
 * With `size`, compresses harder and pads with a zstd skippable frame to exactly that many bytes (when it fits),
 * so that a changed package keeps the size the database gives for the original.
 */
async function pack(stage: string, out: string, size?: number): Promise<string[]> {
  const tree = await listTree(stage);
  const paths = () => [...META.filter((m) => existsSync(join(stage, m))), ...tree.map((e) => e.path)];
  for (const meta of paths().filter((p) => META.includes(p))) await chmod(join(stage, meta), 0o644);
  for (const path of paths()) await lutimes(join(stage, path), EPOCH, EPOCH);
  const mtree = ['--format=mtree', '--options=!all,use-set,type,uid,gid,mode,time,size,md5,sha256,link'];
  await run('bsdtar', ['-czf', '.MTREE', ...mtree, ...ROOT_OWNER, '-n', '--null', '-T', '-'], { cwd: stage, input: paths().join('\0') });
  await chmod(join(stage, '.MTREE'), 0o644);
  await lutimes(join(stage, '.MTREE'), EPOCH, EPOCH);
  let gap = 0;
  for (const level of size === undefined ? [3] : [6, 12, 19]) {
    const zstd = ['--zstd', '--options', `zstd:compression-level=${level}`];
    await run('bsdtar', ['-cnf', out, ...zstd, '--no-fflags', ...ROOT_OWNER, '--null', '-T', '-'], { cwd: stage, input: paths().join('\0') });
    gap = size === undefined ? 0 : size - (await lstat(out)).size;
    if (gap >= 8) break;
  }
  if (gap >= 8) {
    const frame = Buffer.alloc(gap);
    frame.writeUInt32LE(0x184d2a50, 0);
    frame.writeUInt32LE(gap - 8, 4);
    await appendFile(out, frame);
  }
  return tree.map((e) => (e.dir ? `${e.path}/` : e.path));
}

function pkginfo(spec: Spec, size: number): string {
  const many = (key: string, values: string[] = []) => values.map((v) => `${key} = ${v}`);
  return [
    '# Generated by the kiln test helper fake-arch.ts',
    `pkgname = ${spec.name}`, `pkgbase = ${spec.name}`, `pkgver = ${spec.version}`, `pkgdesc = ${spec.desc}`, 'url = https://kiln.invalid/',
    `builddate = ${EPOCH}`, `packager = ${PACKAGER}`, `size = ${size}`, `arch = ${spec.arch}`, 'license = custom',
    ...many('group', spec.groups), ...many('conflict', spec.conflicts), ...many('provides', spec.provides), ...many('backup', spec.backup), ...many('depend', spec.depends),
  ].join('\n') + '\n';
}

function buildinfo(spec: Spec): string {
  return [
    'format = 2', `pkgname = ${spec.name}`, `pkgbase = ${spec.name}`, `pkgver = ${spec.version}`, `pkgarch = ${spec.arch}`,
    `pkgbuild_sha256sum = ${createHash('sha256').update(JSON.stringify(spec)).digest('hex')}`, `packager = ${PACKAGER}`, `builddate = ${EPOCH}`,
    'builddir = /build', 'startdir = /build', 'buildtool = kiln-fake-arch', 'buildtoolver = 1', 'buildenv = !ccache', 'options = strip',
  ].join('\n') + '\n';
}

/** Creates `dir` below `stage` and its missing parents, mode 755 whatever the umask. */
async function mkdirs(stage: string, dir: string, mode = 0o755): Promise<void> {
  if (dir === '.' || dir === '/' || existsSync(join(stage, dir))) return;
  await mkdirs(stage, posix.dirname(dir));
  await mkdir(join(stage, dir));
  await chmod(join(stage, dir), mode);
}

async function writeEntry(stage: string, path: string, entry: Entry): Promise<void> {
  const target = join(stage, path);
  await mkdirs(stage, posix.dirname(path));
  if ('link' in entry) return symlink(entry.link, target);
  if ('dir' in entry) await mkdirs(stage, path);
  else await writeFile(target, entry.text);
  await chmod(target, entry.mode ?? ('dir' in entry ? 0o755 : 0o644));
}

/** Stages, packs and signs one package into `outDir`. */
async function buildPackage(spec: Spec, work: string, outDir: string, debTree: (name: string) => Promise<string>, key: Key): Promise<Omit<FakeArchPackage, 'repo'>> {
  const stage = join(work, `${spec.name}-${spec.arch}`);
  await mkdir(stage, { recursive: true });
  for (const deb of spec.debs ?? []) await stageDeb(await debTree(deb), stage);
  for (const [path, entry] of Object.entries(spec.tree ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) await writeEntry(stage, path, entry);
  const size = (await listTree(stage)).reduce((sum, e) => sum + e.size, 0);
  await writeFile(join(stage, '.PKGINFO'), pkginfo(spec, size));
  await writeFile(join(stage, '.BUILDINFO'), buildinfo(spec));
  if (spec.install) await writeFile(join(stage, '.INSTALL'), spec.install);
  const filename = `${spec.name}-${spec.version}-${spec.arch}.pkg.tar.zst`;
  const file = join(outDir, filename);
  const files = await pack(stage, file);
  await sign(file, key.secret);
  await rm(stage, { recursive: true, force: true });
  return {
    name: spec.name, version: spec.version, arch: spec.arch, filename, sha256: await fileSha256(file), files,
    depends: spec.depends ?? [], provides: spec.provides ?? [], conflicts: spec.conflicts ?? [], groups: spec.groups ?? [], backup: spec.backup ?? [], hasInstall: !!spec.install, installedSize: size,
  };
}

async function repoAdd(repoDir: string, repo: string, filenames: string[]): Promise<void> {
  await run('repo-add', ['-q', '--nocolor', `${repo}.db.tar.gz`, ...filenames], { cwd: repoDir });
  await rm(join(repoDir, `${repo}.db.tar.gz.old`), { force: true });
  await rm(join(repoDir, `${repo}.files.tar.gz.old`), { force: true });
}

/** Runs at most `n` of the jobs given to it at a time. */
function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

interface Manifest {
  keyFingerprint: string;
  unknownKeyFingerprint: string;
  layouts: Partial<Record<FakeArchLayoutName, Partial<Record<FakeArchMachine, FakeArchPackage[]>>>>;
}

const layoutRoot = (dir: string, name: FakeArchLayoutName) => join(dir, name === 'arch' ? 'repo' : 'repo-alarm');

async function build(dir: string, debs: Map<FakeArchMachine, Deb[]>): Promise<Manifest> {
  const work = join(dir, 'build');
  const keysDir = join(dir, 'keys');
  await mkdir(keysDir, { recursive: true });
  const key = await makeKey(keysDir, 'packager', 'kiln test packager');
  const unknown = await makeKey(keysDir, 'unknown', 'kiln test unknown packager');
  const trees = new Map<string, Promise<string>>();
  const debTree = (machine: FakeArchMachine) => (name: string) => {
    const id = `${machine}/${name}`;
    if (!trees.has(id)) {
      const deb = debs.get(machine)?.find((d) => d.name === name);
      if (!deb) throw new Error(`no ${name} for ${machine}`);
      const tree = join(work, 'debs', id);
      trees.set(id, mkdir(tree, { recursive: true }).then(() => run('dpkg-deb', ['-x', deb.path, tree])).then(() => tree));
    }
    return trees.get(id) as Promise<string>;
  };
  const built = new Map<string, Promise<Omit<FakeArchPackage, 'repo'>>>();
  // A Debian set has a hundred packages or more: not all of their bsdtar and zstd at once.
  const slot = limiter(Math.max(2, availableParallelism()));
  const manifest: Manifest = { keyFingerprint: key.fingerprint, unknownKeyFingerprint: unknown.fingerprint, layouts: {} };
  const jobs: [FakeArchLayoutName, FakeArchMachine][] = [...debs.keys()].flatMap((m) => (m === 'aarch64' ? [['arch', m], ['alarm', m]] : [['arch', m]]) as [FakeArchLayoutName, FakeArchMachine][]);
  await Promise.all(
    jobs.map(async ([layout, machine]) => {
      const packages = await Promise.all(
        specs(machine, layout, debs.get(machine) ?? [], key).map(async (spec) => {
          const id = `${spec.name}-${spec.version}-${spec.arch}`;
          if (!built.has(id)) built.set(id, mkdir(join(work, 'out'), { recursive: true }).then(() => slot(() => buildPackage(spec, join(work, 'stage', machine), join(work, 'out'), debTree(machine), key))));
          const pkg = { ...(await (built.get(id) as Promise<Omit<FakeArchPackage, 'repo'>>)), repo: spec.repo[layout] };
          const repoDir = join(layoutRoot(dir, layout), LAYOUTS[layout].dir(machine, pkg.repo));
          await mkdir(repoDir, { recursive: true });
          for (const suffix of ['', '.sig']) await cp(join(work, 'out', pkg.filename + suffix), join(repoDir, pkg.filename + suffix));
          return pkg;
        }),
      );
      for (const repo of LAYOUTS[layout].repos) {
        await repoAdd(join(layoutRoot(dir, layout), LAYOUTS[layout].dir(machine, repo)), repo, packages.filter((p) => p.repo === repo).map((p) => p.filename));
      }
      (manifest.layouts[layout] ??= {})[machine] = packages;
    }),
  );
  await rm(work, { recursive: true, force: true });
  return manifest;
}

// --------------------------------------------------------------- variants

async function makeVariant(dir: string, layout: FakeArchLayout, kind: FakeArchVariantKind, name: string): Promise<FakeArchVariant> {
  const root = `${layout.root}-${kind}${name === 'busybox' ? '' : `-${name}`}`;
  await rm(root, { recursive: true, force: true });
  await cp(layout.root, root, { recursive: true, verbatimSymlinks: true });
  const unknown = kind === 'unknown-key' ? await openpgp.readPrivateKey({ armoredKey: await readFile(join(dir, 'keys', 'unknown.secret.asc'), 'utf8') }) : undefined;
  const changed: FakeArchVariant['changed'] = {};
  const machines = Object.entries(layout.packages) as [FakeArchMachine, FakeArchPackage[]][];
  await Promise.all(
    machines.map(async ([machine, packages]) => {
      const pkg = packages.find((p) => p.name === name);
      if (!pkg) throw new Error(`no package ${name} in the ${layout.name} layout for ${machine}`);
      const repoDir = join(root, LAYOUTS[layout.name].dir(machine, pkg.repo));
      const file = join(repoDir, pkg.filename);
      const work = await mkdtemp(join(dir, 'variant-'));
      await run('bsdtar', ['-xpf', file, '-C', work]);
      await rm(join(work, '.MTREE'));
      await writeEntry(work, 'etc/kiln-tampered', { text: `${name} was changed after it was signed (${kind})\n` });
      const files = await pack(work, `${file}.tmp`, (await lstat(file)).size);
      await rename(`${file}.tmp`, file);
      await rm(work, { recursive: true, force: true });
      if (unknown) await sign(file, unknown);
      if (kind !== 'tampered') await repoAdd(repoDir, pkg.repo, [pkg.filename]);
      changed[machine] = { ...pkg, files, sha256: await fileSha256(file) };
    }),
  );
  return { kind, root, changed };
}

// ------------------------------------------------------------------- entry

async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function writeAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const CACHED = ['repo', 'repo-alarm', 'keys', 'manifest.json'];
const STALE_MS = 7 * 24 * 3600_000;

/** Copies a finished build into the cache: to a temporary name, then one rename; a concurrent twin may win. */
async function storeBuild(dir: string, entry: string): Promise<void> {
  const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    for (const name of CACHED) if (existsSync(join(dir, name))) await cp(join(dir, name), join(tmp, name), { recursive: true, verbatimSymlinks: true });
    await rename(tmp, entry);
  } catch (err) {
    if (!existsSync(join(entry, 'manifest.json'))) throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  // Builds of older inputs (an earlier version of this file) go after a week unused.
  const built = dirname(entry);
  for (const name of await readdir(built)) {
    const age = Date.now() - (await lstat(join(built, name))).mtimeMs;
    if (age > STALE_MS && !name.endsWith('.tmp')) await rm(join(built, name), { recursive: true, force: true });
  }
}

/**
 * Makes the repositories under `dir` (dir/repo, dir/repo-alarm, dir/keys) for
 * the given architectures. Downloads the .debs only when `cacheDir` does not
 * have them yet; reuses a finished build of the same inputs.
 */
export async function makeFakeArchRepos(dir: string, opts: { architectures: FakeArchMachine[]; cacheDir?: string; debianSet?: FakeArchDebianSet }): Promise<FakeArchRepos> {
  const cacheDir = opts.cacheDir ?? defaultFakeArchCache();
  const machines = [...new Set(opts.architectures)].sort();
  const debs = new Map(await Promise.all(machines.map(async (m) => [m, await debianDebs(m, cacheDir, opts.debianSet)] as const)));
  const inputs = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url)));
  for (const [m, list] of debs) inputs.update(`${m}:${list.map((d) => d.sha256 + (d.set ? `>${d.set.depends.join(' ')}` : '')).join(',')};`);
  const entry = join(cacheDir, 'built', inputs.digest('hex').slice(0, 32));
  await mkdir(dir, { recursive: true });
  let manifest: Manifest;
  if (existsSync(join(entry, 'manifest.json'))) {
    await utimes(entry, new Date(), new Date()).catch(() => {});
    for (const name of CACHED) if (existsSync(join(entry, name))) await cp(join(entry, name), join(dir, name), { recursive: true, verbatimSymlinks: true });
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } else {
    manifest = await build(dir, debs);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await storeBuild(dir, entry);
  }
  return assemble(dir, manifest);
}

function assemble(dir: string, manifest: Manifest): FakeArchRepos {
  const layout = (name: FakeArchLayoutName): FakeArchLayout => {
    const root = layoutRoot(dir, name);
    return { name, root, pattern: LAYOUTS[name].pattern, repos: [...LAYOUTS[name].repos], packages: manifest.layouts[name] ?? {}, dir: (a, r) => join(root, LAYOUTS[name].dir(a, r)) };
  };
  const arch = layout('arch');
  const alarm = manifest.layouts.alarm ? layout('alarm') : undefined;
  const variants = new Map<string, Promise<FakeArchVariant>>();
  return {
    root: arch.root,
    alarmRoot: alarm?.root,
    layouts: { arch, alarm },
    keyring: join(dir, 'keys', 'packager.asc'),
    keyringBinary: join(dir, 'keys', 'packager.gpg'),
    keyFingerprint: manifest.keyFingerprint,
    unknownKeyring: join(dir, 'keys', 'unknown.asc'),
    unknownKeyFingerprint: manifest.unknownKeyFingerprint,
    packages: arch.packages,
    baseSet: Object.fromEntries(Object.entries(arch.packages).map(([m, list]) => [m, closure(list, 'base')])),
    variant(kind, opts = {}) {
      const which = opts.layout === 'alarm' ? alarm : arch;
      if (!which) return Promise.reject(new Error('the alarm layout needs aarch64 among the architectures'));
      const id = `${which.name}/${kind}/${opts.package ?? 'busybox'}`;
      if (!variants.has(id)) variants.set(id, makeVariant(dir, which, kind, opts.package ?? 'busybox'));
      return variants.get(id) as Promise<FakeArchVariant>;
    },
  };
}
