/**
 * Native twins for a foreign tree (build.emulation = "native-twins"), for
 * every package format. The programs package scripts start most (sh,
 * coreutils, sed, grep, find, gzip, awk, ...) are, in the same archive or
 * repositories, also built for the host's architecture at the same version.
 * kiln keeps those host-architecture packages (the twins), at exactly the
 * tree's versions, with the libraries they need (also at the tree's
 * versions), and a dispatcher in the build's own binfmt_misc runs a twinned
 * program with its twin's own loader and libraries instead of under QEMU
 * (twin-dispatch.ts). What differs between formats (which packages, where
 * the host index comes from, the tree's database) is the format's
 * FormatTwins (src/formats/twins.ts). This file is the pure part: which
 * host packages stand in for the tree's.
 */
import type { FormatTwins, TwinCandidate, TwinIndex } from '../formats/twins.ts';

/** One host-architecture package kept as a twin. */
export interface TwinPackage extends TwinCandidate {
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
export function selectTwins(tree: readonly { name: string; version: string }[], index: TwinIndex, format: Pick<FormatTwins, 'rules' | 'libraryByName' | 'loaderPackage'>): TwinSelection {
  const hostArch = index.architecture;
  const treeVersions = new Map(tree.map((p) => [p.name, p.version]));
  const host = new Map<string, TwinCandidate[]>();
  // Architecture-independent packages (libaudit-common, a library's data) are the tree's own in any index.
  for (const p of index.candidates) if (p.architecture === hostArch || p.architecture === 'all' || p.architecture === 'any') host.set(p.name, [...(host.get(p.name) ?? []), p]);
  const exact = (name: string): TwinCandidate | undefined => host.get(name)?.find((p) => p.version === treeVersions.get(name));
  const chosen = new Map<string, TwinPackage>();
  const skipped: TwinSelection['skipped'] = [];
  for (const name of Object.keys(format.rules)) {
    const version = treeVersions.get(name);
    if (version === undefined) continue;
    const twin = exact(name);
    if (!twin) {
      const offered = host.get(name)?.map((p) => p.version).join(', ');
      skipped.push({ name, why: offered ? `${hostArch} has ${offered}, the tree ${version}` : `not in the ${hostArch} index` });
      continue;
    }
    const libraries = libraryClosure(twin, treeVersions, exact, (n) => host.get(n)?.some((p) => p.library) ?? format.libraryByName(n));
    if ('missing' in libraries) {
      skipped.push({ name, why: `its library ${libraries.missing} has no ${hostArch} twin at the tree's version` });
      continue;
    }
    chosen.set(name, { ...twin, role: 'programs' });
    for (const lib of libraries.packages) if (!chosen.has(lib.name)) chosen.set(lib.name, { ...lib, role: 'library' });
  }
  // The loader runs every twin, a static one too (busybox), which depends on no library package.
  const loader = chosen.size > 0 && !chosen.has(format.loaderPackage) ? exact(format.loaderPackage) : undefined;
  if (loader) chosen.set(loader.name, { ...loader, role: 'library' });
  return { twins: [...chosen.values()], skipped };
}

/**
 * The libraries a twin depends on, directly or not, that the tree has: each
 * must have a host package at the tree's version.
 */
function libraryClosure(
  root: TwinCandidate,
  treeVersions: Map<string, string>,
  exact: (name: string) => TwinCandidate | undefined,
  library: (name: string) => boolean,
): { packages: TwinCandidate[] } | { missing: string } {
  const found = new Map<string, TwinCandidate>();
  const queue = [root];
  while (queue.length) {
    const p = queue.shift() as TwinCandidate;
    for (const group of p.depends) {
      // The alternative the tree has (its resolver picked one).
      const name = group.find((n) => treeVersions.has(n));
      if (!name || name === root.name || !library(name) || found.has(name)) continue;
      const lib = exact(name);
      if (!lib) return { missing: `${name} ${treeVersions.get(name)}` };
      found.set(name, lib);
      queue.push(lib);
    }
  }
  return { packages: [...found.values()] };
}

/** A twin's directory name in the store: name, version and architecture (a version's ':' escaped, as in the tools cache). */
export function twinDirName(p: { name: string; version: string; architecture: string }): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}`;
}
