/**
 * Changed paths grouped by the package that owns them (the second image's
 * database for what it has, the first's for what it lost), with each
 * package's own change (added, removed, a new version).
 */
import type { InstalledPackage } from '../formats/types.ts';
import type { PathChange } from './compare.ts';
import type { PackageView } from './owners.ts';

export interface PackageGroup {
  /** The package's name, or null for paths no package owns. */
  name: string | null;
  /** Its version in each image (undefined where it is not installed). */
  versionA?: string;
  versionB?: string;
  /** How the package itself changed. */
  status: 'added' | 'removed' | 'upgraded' | 'same' | 'unowned';
  changes: PathChange[];
}

export function ownerOf(change: PathChange, a: PackageView, b: PackageView): string | null {
  const owners = (change.kind === 'removed' ? a : b).owners.get(change.path) ?? (change.kind === 'changed' ? a.owners.get(change.path) : undefined);
  if (!owners?.length) return null;
  return [...owners].sort()[0] as string;
}

/** The groups, packages by name, then the unowned paths last; packages whose version changed are listed even without a changed path. */
export function groupByPackage(changes: readonly PathChange[], a: PackageView, b: PackageView): PackageGroup[] {
  const versions = (list: InstalledPackage[]) => new Map(list.map((p) => [p.name, p.version]));
  const va = versions(a.packages);
  const vb = versions(b.packages);
  const groups = new Map<string | null, PathChange[]>();
  for (const change of changes) {
    const owner = ownerOf(change, a, b);
    const list = groups.get(owner);
    if (list) list.push(change);
    else groups.set(owner, [change]);
  }
  for (const name of new Set([...va.keys(), ...vb.keys()])) if (va.get(name) !== vb.get(name) && !groups.has(name)) groups.set(name, []);
  const out: PackageGroup[] = [];
  for (const [name, list] of groups) {
    if (name === null) continue;
    const versionA = va.get(name);
    const versionB = vb.get(name);
    const status = versionA === undefined && versionB !== undefined ? 'added' : versionB === undefined && versionA !== undefined ? 'removed' : versionA !== versionB ? 'upgraded' : 'same';
    out.push({ name, versionA, versionB, status, changes: list });
  }
  out.sort((x, y) => ((x.name as string) < (y.name as string) ? -1 : 1));
  const unowned = groups.get(null);
  if (unowned) out.push({ name: null, status: 'unowned', changes: unowned });
  return out;
}
