/**
 * The packages a resolution has chosen so far, indexed to answer its two
 * questions: is this relation already satisfied, and what would stop this
 * package from joining (another version of it, Conflicts, Breaks)?
 */

import type { DebPackage } from './packages.ts';
import type { Relation } from './relations.ts';
import { providerFrom, type DebUniverse, type Provider } from './universe.ts';
import { compareVersions } from './version.ts';

export interface Selected {
  readonly pkg: DebPackage;
  /** 'requested' or 'NAME depends on X'. */
  readonly reason: string;
  /** The package whose dependency brought this one in; undefined when requested. */
  readonly neededBy: DebPackage | undefined;
}

type ConflictVerb = 'conflicts with' | 'breaks';

interface ConflictEntry {
  from: DebPackage;
  relation: Relation;
  verb: ConflictVerb;
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export class Selection {
  private readonly byKey = new Map<string, Selected>();
  private readonly byName = new Map<string, DebPackage[]>();
  private readonly providers = new Map<string, Provider[]>();
  /** Conflicts and Breaks of selected packages, by the name they target. */
  private readonly conflictsByTarget = new Map<string, ConflictEntry[]>();

  constructor(private readonly universe: DebUniverse) {}

  /** Add `pkg`; false if it (or another version for its architecture) is already in. */
  add(pkg: DebPackage, reason: string, neededBy: DebPackage | undefined): boolean {
    const key = this.universe.instanceKey(pkg);
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, { pkg, reason, neededBy });
    pushTo(this.byName, pkg.name, pkg);
    for (const provided of pkg.provides) pushTo(this.providers, provided.name, providerFrom(pkg, provided));
    for (const relation of pkg.conflicts) pushTo(this.conflictsByTarget, relation.name, { from: pkg, relation, verb: 'conflicts with' });
    for (const relation of pkg.breaks) pushTo(this.conflictsByTarget, relation.name, { from: pkg, relation, verb: 'breaks' });
    return true;
  }

  has(pkg: DebPackage): boolean {
    return this.byKey.get(this.universe.instanceKey(pkg))?.pkg === pkg;
  }

  /** Everything selected, sorted by name then architecture. */
  sorted(): Selected[] {
    const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return [...this.byKey.values()].sort(
      (a, b) => compare(a.pkg.name, b.pkg.name) || compare(a.pkg.architecture, b.pkg.architecture),
    );
  }

  /** Whether a selected real package named like `relation` satisfies it. */
  hasRealMatch(relation: Relation, fromArchitecture: string): boolean {
    const named = this.byName.get(relation.name) ?? [];
    return named.some((pkg) => this.universe.realMatches(pkg, relation, fromArchitecture, 'depends'));
  }

  /** Whether a selected package satisfies `relation`, as itself or through Provides. */
  satisfies(relation: Relation, fromArchitecture: string): boolean {
    if (this.hasRealMatch(relation, fromArchitecture)) return true;
    const providers = this.providers.get(relation.name) ?? [];
    return providers.some((provider) => this.universe.providerMatches(provider, relation, fromArchitecture, 'depends'));
  }

  /** Why `pkg` cannot join (another version of it, a conflict either way), or undefined if it can. */
  blockerOf(pkg: DebPackage): string | undefined {
    return this.otherInstanceBlocking(pkg) ?? this.ownConflictHitting(pkg) ?? this.selectedConflictHitting(pkg);
  }

  private otherInstanceBlocking(pkg: DebPackage): string | undefined {
    const { universe } = this;
    const architecture = universe.effectiveArchitecture(pkg);
    for (const other of this.byName.get(pkg.name) ?? []) {
      if (other === pkg) continue;
      if (universe.effectiveArchitecture(other) === architecture) return `${universe.label(other)} ${other.version} is selected`;
      const coinstallable =
        pkg.multiArch === 'same' && other.multiArch === 'same' && compareVersions(pkg.version, other.version) === 0;
      if (!coinstallable) return `${universe.label(pkg)} cannot be installed beside ${universe.label(other)}`;
    }
    return undefined;
  }

  /** A Conflicts or Breaks of `pkg` that a selected package (or what it provides) matches. */
  private ownConflictHitting(pkg: DebPackage): string | undefined {
    const { universe } = this;
    const architecture = universe.effectiveArchitecture(pkg);
    const entries: [Relation, ConflictVerb][] = [
      ...pkg.conflicts.map((relation): [Relation, ConflictVerb] => [relation, 'conflicts with']),
      ...pkg.breaks.map((relation): [Relation, ConflictVerb] => [relation, 'breaks']),
    ];
    for (const [relation, verb] of entries) {
      for (const other of this.byName.get(relation.name) ?? []) {
        if (other.name !== pkg.name && universe.realMatches(other, relation, architecture, 'conflicts')) {
          return `${universe.label(pkg)} ${verb} ${universe.label(other)}`;
        }
      }
      for (const provider of this.providers.get(relation.name) ?? []) {
        if (provider.pkg.name !== pkg.name && universe.providerMatches(provider, relation, architecture, 'conflicts')) {
          return `${universe.label(pkg)} ${verb} ${relation.name} (provided by ${universe.label(provider.pkg)})`;
        }
      }
    }
    return undefined;
  }

  /** A Conflicts or Breaks of a selected package that `pkg` (or what it provides) matches. */
  private selectedConflictHitting(pkg: DebPackage): string | undefined {
    const { universe } = this;
    for (const { from, relation, verb } of this.conflictsByTarget.get(pkg.name) ?? []) {
      const fromArchitecture = universe.effectiveArchitecture(from);
      if (from.name !== pkg.name && universe.realMatches(pkg, relation, fromArchitecture, 'conflicts')) {
        return `${universe.label(from)} ${verb} ${universe.label(pkg)}`;
      }
    }
    for (const provided of pkg.provides) {
      const provider = providerFrom(pkg, provided);
      for (const { from, relation, verb } of this.conflictsByTarget.get(provided.name) ?? []) {
        const fromArchitecture = universe.effectiveArchitecture(from);
        if (from.name !== pkg.name && universe.providerMatches(provider, relation, fromArchitecture, 'conflicts')) {
          return `${universe.label(from)} ${verb} ${provided.name} (provided by ${universe.label(pkg)})`;
        }
      }
    }
    return undefined;
  }

  /** `top (requested) → mid → pkg`: how `pkg` came to be selected. */
  chainTo(pkg: DebPackage): string {
    const names: string[] = [];
    for (let current: DebPackage | undefined = pkg; current !== undefined; ) {
      const selected = this.byKey.get(this.universe.instanceKey(current));
      const label = this.universe.label(current);
      names.unshift(selected?.neededBy === undefined ? `${label} (requested)` : label);
      current = selected?.neededBy;
    }
    return names.join(' → ');
  }
}
