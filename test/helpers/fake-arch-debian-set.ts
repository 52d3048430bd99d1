/**
 * A larger set of fixture packages for test/helpers/fake-arch.ts: the
 * dependency closure of some Debian packages (Pre-Depends and Depends, the
 * first alternative that exists), each of which becomes one pacman package
 * of the same name that `base` depends on. The bench uses it for a
 * repository the size of Arch's `base`; the tests' small repository does not.
 *
 * Pure: the caller fetches the Debian index and the .debs.
 */
import type { DebPackage } from '../../src/formats/deb/packages.ts';
import type { Relation } from '../../src/formats/deb/relations.ts';
import { compareVersions } from '../../src/formats/deb/version.ts';

export interface FakeArchDebianSet {
  /** Names the set in the fixture cache's file names. */
  name: string;
  /** Debian packages whose closure joins the repository (and `base`'s dependencies). */
  roots: string[];
}

/** What one Debian package of the set becomes. */
export interface DebianSetPackage {
  /** The Debian (and pacman) name. */
  name: string;
  version: string;
  /** Debian `Architecture: all` (pacman arch `any`). */
  any: boolean;
  /** One of the set's roots: `base` depends on it. */
  root: boolean;
  /** pacman names, versions dropped. */
  depends: string[];
  /** Debian KiB, for the description. */
  installedSize: number;
  filename: string;
  sha256: string;
  size: number;
}

/**
 * Debian packages the small fixture already has as pacman packages of its
 * own (fake-arch.ts), or that would clash with them: a dependency on one is
 * a dependency on its stand-in, and none of them joins the set.
 * base-files ships etc/os-release and friends (the fixture's `filesystem`);
 * dash ships /bin/sh (the fixture's `bash` does).
 */
export const STAND_INS: Record<string, string> = {
  libc6: 'glibc',
  bash: 'bash',
  libtinfo6: 'bash',
  'busybox-static': 'busybox',
  'base-files': 'filesystem',
  dash: 'bash',
};

/** The closure of `roots` in `index` (newest version of each name), in name order; throws on a root or dependency nothing satisfies. */
export function debianSetPackages(index: readonly DebPackage[], roots: readonly string[]): DebianSetPackage[] {
  const newest = new Map<string, DebPackage>();
  for (const p of index) {
    const seen = newest.get(p.name);
    if (!seen || compareVersions(p.version, seen.version) > 0) newest.set(p.name, p);
  }
  const providers = new Map<string, string[]>();
  for (const p of newest.values()) for (const v of p.provides) providers.set(v.name, [...(providers.get(v.name) ?? []), p.name]);
  const named = (relation: Relation): string | undefined => {
    if (relation.name in STAND_INS || newest.has(relation.name)) return relation.name;
    return (providers.get(relation.name) ?? []).sort()[0];
  };
  const set = new Map<string, DebianSetPackage>();
  const visit = (name: string, wantedBy: string): void => {
    if (set.has(name) || name in STAND_INS) return;
    const p = newest.get(name);
    if (!p) throw new Error(`${name} (wanted by ${wantedBy}) is not in the Debian index`);
    const entry: DebianSetPackage = { name, version: p.version, any: p.architecture === 'all', root: roots.includes(name), depends: [], installedSize: p.installedSize, filename: p.filename, sha256: p.sha256, size: p.size };
    set.set(name, entry);
    for (const group of [...p.preDepends, ...p.depends]) {
      const chosen = group.map(named).find((n) => n !== undefined);
      if (!chosen) throw new Error(`nothing in the Debian index satisfies ${group.map((r) => r.name).join(' | ')} (a dependency of ${name})`);
      const archName = STAND_INS[chosen] ?? chosen;
      if (archName !== name && !entry.depends.includes(archName)) entry.depends.push(archName);
      visit(chosen, name);
    }
  };
  for (const root of roots) visit(root, 'the set');
  return [...set.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
