/**
 * Native twins for Debian trees (what src/formats/twins.ts asks of a
 * format): the packages whose programs maintainer scripts start most, with
 * the rules for which of their programs run natively; the twins come from
 * the same archive, its signed Packages index for the host's architecture,
 * and are checked against that index's sha256 like every package; the
 * tree's side is dpkg's status and md5sums.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { decompress, extractTar, readDeb } from '../../archive/index.ts';
import { memoized, memoKey, readVerified } from '../../repo/index.ts';
import { hostMachine } from '../../catalog/index.ts';
import type { Tree } from '../../tree/index.ts';
import { twinKeyring, twinMirror, type FormatTwins, type TwinCandidate, type TwinContext, type TwinRule, type TwinTreeFacts } from '../twins.ts';
import { fetchPackagesIndex, fetchRelease, type ArchiveAccess } from './archive.ts';
import { field, parseStanzas } from './control.ts';
import type { DebPackage } from './packages.ts';
import { pickIndex } from './release.ts';

/**
 * The twinned packages, chosen by counting executions during an emulated
 * configure (the dispatcher's own log, see the README). Programs whose
 * behaviour depends on the architecture never run natively: uname and arch
 * report it, stdbuf preloads a library of the tree's architecture; dpkg
 * (and dpkg-query, which prints the native architecture's package names)
 * stay emulated, only update-alternatives and dpkg-divert run natively, and dpkg itself
 * only as `dpkg --validate-version` and `dpkg --compare-versions`: they
 * read nothing but their arguments and write nothing but an exit status
 * (and a message for a bad version), and dpkg-maintscript-helper calls
 * them for nearly every maintainer script (about 100 of the 150 emulated
 * executions of bookworm minimal + systemd, at about 0.1 s each under
 * QEMU here). `dpkg --print-architecture` and every other dpkg action stay
 * emulated. bash is not here ($HOSTTYPE, $MACHTYPE), nor libc-bin
 * (ldconfig), nor any compiler.
 */
export const DEB_TWIN_RULES: Readonly<Record<string, TwinRule>> = {
  dash: { aliases: { dash: ['sh'] } },
  coreutils: { except: ['uname', 'arch', 'stdbuf'] },
  sed: {},
  grep: {},
  findutils: {},
  gzip: {},
  diffutils: {},
  mawk: { aliases: { mawk: ['awk', 'nawk'] } },
  debianutils: {},
  // dpkg-divert reads and writes the diversions file (package names as given, never with an
  // architecture) and renames files: nothing of the machine.
  dpkg: { only: ['update-alternatives', 'dpkg-divert', 'dpkg'], firstArgs: { dpkg: ['--validate-version', '--compare-versions'] } },
  // systemctl in a maintainer script (deb-systemd-helper's, offline: enable, preset, is-enabled) only
  // reads unit and preset files and makes symlinks; its library is libsystemd-shared's private one.
  // systemd-hwdb update (udev's postinst) compiles the .hwdb files into hwdb.bin and
  // journalctl --update-catalog the message catalogs into catalog/database: both files are written
  // little-endian by format (le64 fields), the same bytes from any little-endian machine, and under
  // QEMU the hwdb alone takes most of a bootable set's emulated time.
  systemd: { only: ['systemctl', 'journalctl'] },
  udev: { only: ['systemd-hwdb'] },
  // mkinitramfs (update-initramfs, a kernel's postinst): modinfo and modprobe --show-depends for every
  // module it copies, depmod for the tree and the initramfs, cpio for the archive. kmod reads modules of
  // any architecture (the kernel's own cross builds run the host's depmod) and writes its indexes in one
  // byte order; insmod, rmmod and lsmod (the running kernel's modules) stay emulated.
  kmod: { only: ['kmod'], aliases: { kmod: ['modinfo', 'modprobe', 'depmod'] } },
  cpio: { only: ['cpio'] },
  // passwd's postinst (shadowconfig): pwconv and grpconv read and write /etc/passwd, group, shadow and
  // gshadow with shadow's own file code (no NSS lookups), under its lock file. pwck and grpck, useradd and
  // friends look users and groups up through NSS, whose modules in the tree a twin cannot load: emulated.
  passwd: { only: ['pwconv', 'grpconv'] },
};

const NEVER_NATIVE: ReadonlySet<string> = new Set(['uname', 'arch', 'stdbuf', 'dpkg', 'dpkg-query', 'dpkg-architecture', 'ldconfig', 'bash']);

/** The host's Debian architecture name (amd64 on x86_64), if Debian has one. */
function hostDebianArch(ctx: TwinContext): string | undefined {
  return Object.entries(ctx.distribution.architectures).find(([, m]) => m === hostMachine())?.[0];
}

function access(ctx: TwinContext): ArchiveAccess {
  const c = ctx.config;
  return { store: ctx.store, emit: ctx.emit, signal: ctx.signal, limits: ctx.limits, keyring: c['distribution.verify-signatures'] ? twinKeyring(c) : undefined, warnings: [] };
}

const mirrorOf = (ctx: TwinContext) => twinMirror(ctx.config, ctx.distribution).replace(/\/+$/, '');

/** A Packages entry as a twin candidate. */
export function debTwinCandidate(p: DebPackage, mirror: string): TwinCandidate {
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    sha256: p.sha256,
    size: p.size,
    urls: [`${mirror}/${p.filename}`],
    depends: [...p.preDepends, ...p.depends].map((group) => group.map((r) => r.name)),
    // A shared-library package: named lib*, or in the libs section (zlib1g).
    library: p.name.startsWith('lib') || /(^|\/)libs$/.test(p.section),
  };
}

/**
 * The candidates twin selection can choose (selectTwins): the twinned
 * packages and libraries (the loader's libc6 is one). Kept between builds
 * instead of the whole index: the xz and the parsing of bookworm's 63,000
 * amd64 packages took about 1.5 s of every foreign build here (6 s under
 * load), for a few dozen twins.
 */
const mayBeChosen = (c: TwinCandidate) => c.library || c.name in DEB_TWIN_RULES;

/** Package -> version of every package dpkg's status lists as present. */
function installedVersions(tree: Tree): Map<string, string> {
  const out = new Map<string, string>();
  for (const stanza of parseStanzas(tree.readTextIfExists('var/lib/dpkg/status') ?? '')) {
    const get = (name: string) => field(stanza, name);
    const name = get('Package');
    const version = get('Version');
    const status = get('Status') ?? '';
    if (name && version && !/ (not-installed|config-files)$/.test(status)) out.set(name, version);
  }
  return out;
}

/** dpkg's md5sums of a package: path (relative, as shipped) -> md5. */
function md5sums(tree: Tree, name: string): Map<string, string> {
  const arch = tree.readTextIfExists('var/lib/dpkg/arch')?.split('\n')[0]?.trim();
  const text = tree.readTextIfExists(`var/lib/dpkg/info/${name}.md5sums`) ?? (arch ? tree.readTextIfExists(`var/lib/dpkg/info/${name}:${arch}.md5sums`) : undefined) ?? '';
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{32}) {2}(.+)$/.exec(line);
    if (m) out.set((m[2] as string).replace(/^\.?\//, ''), m[1] as string);
  }
  return out;
}

function treeMd5(tree: Tree, rel: string): string | undefined {
  const st = tree.stat(rel);
  if (!st?.isFile()) return undefined;
  return createHash('md5').update(tree.readBytes(rel)).digest('hex');
}

const SCRIPTS = ['preinst', 'postinst'];

const DEB_TREE: TwinTreeFacts = {
  installed: installedVersions,
  shipped: (tree, name) => {
    const sums = md5sums(tree, name);
    return (rel) => sums.has(rel) && treeMd5(tree, rel) === sums.get(rel);
  },
  hasScripts: (tree, name) => {
    const info = tree.isDirectory('var/lib/dpkg/info') ? tree.readdir('var/lib/dpkg/info') : [];
    return info.some((f) => SCRIPTS.some((s) => f === `${name}.${s}` || (f.startsWith(`${name}:`) && f.endsWith(`.${s}`))));
  },
  scriptPackageVariable: 'DPKG_MAINTSCRIPT_PACKAGE',
};

export const debTwins: FormatTwins = {
  rules: DEB_TWIN_RULES,
  neverNative: NEVER_NATIVE,
  loaderPackage: 'libc6',
  libraryByName: (name) => name.startsWith('lib'),
  async hostIndex(ctx) {
    const hostArch = hostDebianArch(ctx);
    if (!hostArch) return undefined;
    const c = ctx.config;
    const mirror = mirrorOf(ctx);
    const archive = access(ctx);
    const release = await fetchRelease(archive, mirror, c['distribution.release']);
    const candidates = [];
    for (const component of c['distribution.repositories']) {
      const base = `${component}/binary-${hostArch}/Packages`;
      // Keyed by the index's sha256 from the signed Release: the same index gives the same candidates.
      const key = memoKey('deb-twin-candidates', 1, Object.keys(DEB_TWIN_RULES), mirror, base, pickIndex(release, base)?.file.sha256 ?? 'none');
      const { value } = await memoized(join(ctx.cacheDir, 'plans'), key, async () =>
        (await fetchPackagesIndex(archive, mirror, c['distribution.release'], release, base)).map((p) => debTwinCandidate(p, mirror)).filter(mayBeChosen),
      );
      candidates.push(...value);
    }
    return { architecture: hostArch, candidates };
  },
  read: (ctx, twin) => readVerified(ctx.store, { urls: twin.urls, sha256: twin.sha256, size: twin.size, name: twin.name }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal }),
  async extract(data, twin, dir) {
    const deb = readDeb(data, twin.name);
    await extractTar(decompress(deb.data.data, deb.data.kind), dir, { chown: false });
  },
  tree: DEB_TREE,
};
