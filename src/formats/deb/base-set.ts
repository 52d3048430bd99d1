/**
 * The packages a variant starts from, with mmdebstrap's meanings:
 * `essential` = every `Essential: yes` package; `minimal` (mmdebstrap's
 * minbase) = essential + apt + every `Priority: required` package;
 * `standard` = minimal + `Priority: important` and `standard`; `none` =
 * nothing (the request alone, as `mmdebstrap --variant=custom`).
 * Dependencies are left to resolveDependencies.
 */

import type { DebPackage } from './packages.ts';
import { compareVersions } from './version.ts';

export type BaseVariant = 'essential' | 'minimal' | 'standard' | 'none';

const PRIORITIES_OF: Readonly<Record<BaseVariant, readonly string[]>> = {
  essential: [],
  minimal: ['required'],
  standard: ['required', 'important', 'standard'],
  none: [],
};

/** The architecture most packages are built for (not `all`). */
function commonestArchitecture(universe: readonly DebPackage[]): string | undefined {
  const counts = new Map<string, number>();
  for (const pkg of universe) {
    if (pkg.architecture !== 'all') counts.set(pkg.architecture, (counts.get(pkg.architecture) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [architecture, count] of counts) if (best === undefined || count > counts.get(best)!) best = architecture;
  return best;
}

/**
 * Names of the base set, sorted. Only packages of `architecture` (default:
 * the commonest in `universe`) or `all` count, each name judged by its
 * highest version.
 */
export function selectBaseSet(universe: readonly DebPackage[], variant: BaseVariant, architecture?: string): string[] {
  if (variant === 'none') return [];
  const native = architecture ?? commonestArchitecture(universe);
  const newest = new Map<string, DebPackage>();
  for (const pkg of universe) {
    if (pkg.architecture !== native && pkg.architecture !== 'all') continue;
    const seen = newest.get(pkg.name);
    if (seen === undefined || compareVersions(pkg.version, seen.version) > 0) newest.set(pkg.name, pkg);
  }
  const priorities = new Set(PRIORITIES_OF[variant]);
  const names = new Set<string>();
  for (const pkg of newest.values()) {
    if (pkg.essential || priorities.has(pkg.priority)) names.add(pkg.name);
  }
  if (variant !== 'essential' && newest.has('apt')) names.add('apt');
  return [...names].sort();
}
