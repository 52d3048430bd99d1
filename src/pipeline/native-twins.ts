/**
 * Native twins for a foreign Debian tree (build.emulation = "native-twins").
 * The programs maintainer scripts start most (sh, coreutils, sed, grep,
 * find, gzip, awk, diff, update-alternatives, run-parts) are, in the same
 * archive, also built for the host's architecture at the same version. kiln
 * keeps those host-architecture packages (the twins), at exactly the tree's
 * versions, with the libraries they need (also at the tree's versions), and
 * a dispatcher in the build's own binfmt_misc runs a twinned program with
 * its twin's own loader and libraries instead of under QEMU
 * (twin-dispatch.ts). This file is the pure part: which packages are twinned
 * and which host packages stand in for them.
 */
import type { DebPackage } from '../formats/deb/index.ts';

/** Which programs of a twinned package may run natively. */
export interface TwinRule {
  /** Only these program names (default: every ELF program in bin/, sbin/, usr/bin/, usr/sbin/). */
  only?: string[];
  /** Never these. */
  except?: string[];
  /** Other names a program is started by (through symlinks or alternatives): program -> names. */
  aliases?: Record<string, string[]>;
  /**
   * Programs that run natively only with one of these first arguments
   * (a subcommand that is a pure function of its arguments, whatever the
   * architecture), otherwise under QEMU: program -> first arguments.
   */
  firstArgs?: Record<string, string[]>;
}

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
export const TWIN_RULES: Readonly<Record<string, TwinRule>> = {
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
  systemd: { only: ['systemctl'] },
  // mkinitramfs (update-initramfs, a kernel's postinst): modinfo and modprobe --show-depends for every
  // module it copies, depmod for the tree and the initramfs, cpio for the archive. kmod reads modules of
  // any architecture (the kernel's own cross builds run the host's depmod) and writes its indexes in one
  // byte order; insmod, rmmod and lsmod (the running kernel's modules) stay emulated.
  kmod: { only: ['kmod'], aliases: { kmod: ['modinfo', 'modprobe', 'depmod'] } },
  cpio: { only: ['cpio'] },
};

/** Names no twin ever runs as, whatever package ships them (but with a rule's `firstArgs`, which are only those arguments). */
export const NEVER_NATIVE: ReadonlySet<string> = new Set(['uname', 'arch', 'stdbuf', 'dpkg', 'dpkg-query', 'dpkg-architecture', 'ldconfig', 'bash']);

/** One host-architecture package kept as a twin. */
export interface TwinPackage {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  size: number;
  /** Below the mirror's root. */
  filename: string;
  /** Programs run from it, or a library the programs need. */
  role: 'programs' | 'library';
}

export interface TwinSelection {
  twins: TwinPackage[];
  /** Twinned packages of the tree that have no usable twin, and why. */
  skipped: { name: string; why: string }[];
}

/**
 * The twins for a tree: each twinned package of the tree whose host package
 * has exactly the tree's version, with the closure of the libraries it
 * depends on (each also at the tree's version). A package whose twin, or one
 * of whose libraries' twins, differs in version is skipped: it stays emulated.
 */
export function selectTwins(tree: readonly { name: string; version: string }[], hostIndex: readonly DebPackage[], hostArch: string): TwinSelection {
  const treeVersions = new Map(tree.map((p) => [p.name, p.version]));
  const host = new Map<string, DebPackage[]>();
  // Architecture-independent packages (libaudit-common, a library's data) are the tree's own in any index.
  for (const p of hostIndex) if (p.architecture === hostArch || p.architecture === 'all') host.set(p.name, [...(host.get(p.name) ?? []), p]);
  const exact = (name: string): DebPackage | undefined => host.get(name)?.find((p) => p.version === treeVersions.get(name));
  const chosen = new Map<string, TwinPackage>();
  const skipped: TwinSelection['skipped'] = [];
  for (const name of Object.keys(TWIN_RULES)) {
    const version = treeVersions.get(name);
    if (version === undefined) continue;
    const twin = exact(name);
    if (!twin) {
      const offered = host.get(name)?.map((p) => p.version).join(', ');
      skipped.push({ name, why: offered ? `${hostArch} has ${offered}, the tree ${version}` : `not in the ${hostArch} index` });
      continue;
    }
    const libraries = libraryClosure(twin, treeVersions, exact, (n) => host.get(n)?.some(isLibrary) ?? n.startsWith('lib'));
    if ('missing' in libraries) {
      skipped.push({ name, why: `its library ${libraries.missing} has no ${hostArch} twin at the tree's version` });
      continue;
    }
    chosen.set(name, twinOf(twin, 'programs'));
    for (const lib of libraries.packages) if (!chosen.has(lib.name)) chosen.set(lib.name, twinOf(lib, 'library'));
  }
  return { twins: [...chosen.values()], skipped };
}

/** A shared-library package: named lib*, or in the libs section (zlib1g). */
function isLibrary(p: DebPackage): boolean {
  return p.name.startsWith('lib') || /(^|\/)libs$/.test(p.section);
}

/**
 * The libraries a twin depends on, directly or not, that the tree has: each
 * must have a host package at the tree's version.
 */
function libraryClosure(
  root: DebPackage,
  treeVersions: Map<string, string>,
  exact: (name: string) => DebPackage | undefined,
  library: (name: string) => boolean,
): { packages: DebPackage[] } | { missing: string } {
  const found = new Map<string, DebPackage>();
  const queue = [root];
  while (queue.length) {
    const p = queue.shift() as DebPackage;
    for (const group of [...p.preDepends, ...p.depends]) {
      // The alternative the tree has (its resolver picked one).
      const name = group.map((r) => r.name).find((n) => treeVersions.has(n));
      if (!name || !library(name) || found.has(name)) continue;
      const lib = exact(name);
      if (!lib) return { missing: `${name} ${treeVersions.get(name)}` };
      found.set(name, lib);
      queue.push(lib);
    }
  }
  return { packages: [...found.values()] };
}

function twinOf(p: DebPackage, role: TwinPackage['role']): TwinPackage {
  return { name: p.name, version: p.version, architecture: p.architecture, sha256: p.sha256, size: p.size, filename: p.filename, role };
}

/** A twin's directory name in the store: name, version and architecture (a version's ':' escaped, as in the tools cache). */
export function twinDirName(p: { name: string; version: string; architecture: string }): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}`;
}
