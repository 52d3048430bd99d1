/**
 * The packages a resolution may choose from, indexed by name and by the
 * virtual names they provide, with apt's notion of a candidate (the highest
 * version for an architecture) and dpkg's Multi-Arch matching rules.
 */

import type { DebPackage } from './packages.ts';
import type { Relation } from './relations.ts';
import { compareVersions, satisfiesVersion } from './version.ts';

/** A package that provides a virtual name, at a version if the Provides said one. */
export interface Provider {
  readonly pkg: DebPackage;
  readonly version: string | undefined;
}

/** The Provider a package's Provides entry makes. */
export function providerFrom(pkg: DebPackage, provided: Relation): Provider {
  return { pkg, version: provided.op === '=' ? provided.version : undefined };
}

/** Which kind of relation is being matched: Conflicts and Breaks on `:any` match every architecture. */
export type RelationKind = 'depends' | 'conflicts';

export class DebUniverse {
  readonly native: string;
  readonly architectures: readonly string[];
  private readonly allowed: ReadonlySet<string>;
  private readonly byName = new Map<string, DebPackage[]>();
  private readonly providersByName = new Map<string, Provider[]>();
  private readonly candidates = new Map<string, DebPackage | null>();

  /** `architectures[0]` is the native one; packages of other architectures are ignored. */
  constructor(packages: readonly DebPackage[], architectures: readonly string[]) {
    if (architectures.length === 0) throw new Error('DebUniverse needs at least one architecture');
    this.native = architectures[0]!;
    this.architectures = [...architectures];
    this.allowed = new Set([...architectures, 'all']);
    for (const pkg of packages) {
      if (!this.allowed.has(pkg.architecture)) continue;
      const sameName = this.byName.get(pkg.name);
      if (sameName === undefined) this.byName.set(pkg.name, [pkg]);
      else sameName.push(pkg);
      for (const provided of pkg.provides) {
        const providers = this.providersByName.get(provided.name);
        if (providers === undefined) this.providersByName.set(provided.name, [providerFrom(pkg, provided)]);
        else providers.push(providerFrom(pkg, provided));
      }
    }
  }

  /** Every known name, real or virtual (for suggestions). */
  names(): IterableIterator<string> {
    return new Set([...this.byName.keys(), ...this.providersByName.keys()]).values();
  }

  /** Every version and architecture of a real package. */
  packagesNamed(name: string): readonly DebPackage[] {
    return this.byName.get(name) ?? [];
  }

  providersOf(name: string): readonly Provider[] {
    return this.providersByName.get(name) ?? [];
  }

  hasArchitecture(architecture: string): boolean {
    return architecture !== 'all' && this.allowed.has(architecture);
  }

  /** The architecture a package is installed as: `all` counts as native. */
  effectiveArchitecture(pkg: DebPackage): string {
    return pkg.architecture === 'all' ? this.native : pkg.architecture;
  }

  /** One package name per architecture can be installed: this names that slot. */
  instanceKey(pkg: DebPackage): string {
    return `${pkg.name}:${this.effectiveArchitecture(pkg)}`;
  }

  /** A package's name in messages: `name`, or `name:arch` for a foreign architecture. */
  label(pkg: DebPackage): string {
    const architecture = this.effectiveArchitecture(pkg);
    return architecture === this.native ? pkg.name : `${pkg.name}:${architecture}`;
  }

  /** The highest version of `name` built for `architecture` or for `all`. */
  candidate(name: string, architecture: string): DebPackage | undefined {
    const key = `${name}:${architecture}`;
    let best = this.candidates.get(key);
    if (best === undefined) {
      best = null;
      for (const pkg of this.packagesNamed(name)) {
        if (pkg.architecture !== architecture && pkg.architecture !== 'all') continue;
        if (best === null || compareVersions(pkg.version, best.version) > 0) best = pkg;
      }
      this.candidates.set(key, best);
    }
    return best ?? undefined;
  }

  /** Whether `pkg` is the candidate for its own name and architecture. */
  isCandidate(pkg: DebPackage): boolean {
    return this.candidate(pkg.name, this.effectiveArchitecture(pkg)) === pkg;
  }

  /**
   * dpkg's Multi-Arch rule: can `pkg` satisfy (or, for conflicts, be hit by)
   * `relation`, written in a package installed as `fromArchitecture`?
   */
  architectureMatches(pkg: DebPackage, relation: Relation, fromArchitecture: string, kind: RelationKind): boolean {
    const qualifier = relation.archQualifier;
    if (qualifier === undefined && pkg.multiArch === 'foreign') return true;
    if (qualifier === 'any') return kind === 'conflicts' || pkg.multiArch === 'allowed';
    let wanted = qualifier ?? fromArchitecture;
    if (wanted === 'native' || wanted === 'all') wanted = this.native;
    return wanted === this.effectiveArchitecture(pkg);
  }

  /** Whether the real package `pkg` (named like the relation) satisfies its version and architecture. */
  realMatches(pkg: DebPackage, relation: Relation, fromArchitecture: string, kind: RelationKind): boolean {
    return (
      (relation.op === undefined || satisfiesVersion(pkg.version, relation.op, relation.version!)) &&
      this.architectureMatches(pkg, relation, fromArchitecture, kind)
    );
  }

  /**
   * Whether a Provides entry satisfies the relation: an unversioned relation
   * takes any provider, a versioned one only a versioned Provides that fits.
   */
  providerMatches(provider: Provider, relation: Relation, fromArchitecture: string, kind: RelationKind): boolean {
    if (relation.op !== undefined) {
      if (provider.version === undefined || !satisfiesVersion(provider.version, relation.op, relation.version!)) {
        return false;
      }
    }
    return this.architectureMatches(provider.pkg, relation, fromArchitecture, kind);
  }
}
