/**
 * Dependency resolution for Debian packages, like apt without Recommends:
 * follow Depends and Pre-Depends from the requested packages, pick the first
 * installable alternative (or one the caller prefers), never select two
 * packages that conflict. Pure: packages in, a plan out.
 */

import { UserError } from '../../util/errors.ts';
import type { DebPackage } from './packages.ts';
import { formatRelation, formatRelationGroup, type Relation } from './relations.ts';
import { similarNames } from './similar-names.ts';
import { DebUniverse, type Provider } from './universe.ts';
import { compareVersions } from './version.ts';

export interface ResolveOptions {
  universe: readonly DebPackage[];
  /** The first is the native architecture. */
  architectures: readonly string[];
  /** Package names, or `name=version`, `name:arch`, `name:arch=version`. */
  want: readonly string[];
  /** Names to pick first when an alternative or a virtual package offers them. */
  prefer?: readonly string[];
}

export interface ResolvedPlan {
  /** Every package to install, sorted by name (then architecture). */
  packages: DebPackage[];
  /** Why each package is in (keyed by name, `name:arch` for a foreign architecture): 'requested' or 'NAME depends on X'. */
  reasons: Map<string, string>;
}

const PRIORITY_RANK: Readonly<Record<string, number>> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

type Verb = 'depends on' | 'pre-depends on';
type ConflictVerb = 'conflicts with' | 'breaks';

/** One Depends/Pre-Depends entry of a selected package, waiting to be satisfied. */
interface Requirement {
  from: DebPackage;
  verb: Verb;
  group: Relation[];
}

interface Selection {
  pkg: DebPackage;
  reason: string;
  neededBy: DebPackage | undefined;
}

/** The package that would satisfy a relation, or why none can. */
type Attempt = { pkg: DebPackage; failure?: undefined } | { pkg?: undefined; failure: string };

interface WantedPackage {
  spec: string;
  name: string;
  architecture: string | undefined;
  version: string | undefined;
}

function parseWanted(spec: string): WantedPackage {
  const equals = spec.indexOf('=');
  const version = equals === -1 ? undefined : spec.slice(equals + 1);
  const qualified = equals === -1 ? spec : spec.slice(0, equals);
  const colon = qualified.indexOf(':');
  const name = colon === -1 ? qualified : qualified.slice(0, colon);
  const architecture = colon === -1 ? undefined : qualified.slice(colon + 1);
  if (name === '' || architecture === '' || version === '') {
    throw new UserError(`bad package name "${spec}"`, 'write NAME, NAME=VERSION, NAME:ARCH or NAME:ARCH=VERSION');
  }
  return { spec, name, architecture, version };
}

class Resolver {
  private readonly selected = new Map<string, Selection>();
  private readonly selectedByName = new Map<string, DebPackage[]>();
  private readonly selectedProviders = new Map<string, Provider[]>();
  private readonly conflictsByTarget = new Map<string, { from: DebPackage; relation: Relation; verb: ConflictVerb }[]>();
  /** Requirements naming one real package: settled first, so that choices can see their outcome. */
  private readonly firm: Requirement[] = [];
  private readonly choices: Requirement[] = [];

  constructor(
    private readonly universe: DebUniverse,
    private readonly prefer: ReadonlySet<string>,
  ) {}

  resolve(want: readonly string[]): ResolvedPlan {
    const wanted = want.map(parseWanted);
    // Real names before virtual ones, so a virtual request can see a requested provider.
    const isReal = (w: WantedPackage): boolean => this.universe.packagesNamed(w.name).length > 0;
    for (const w of [...wanted.filter(isReal), ...wanted.filter((w) => !isReal(w))]) this.selectWanted(w);
    let firmNext = 0;
    let choiceNext = 0;
    for (;;) {
      const requirement = firmNext < this.firm.length ? this.firm[firmNext++] : this.choices[choiceNext++];
      if (requirement === undefined) break;
      const fromArchitecture = this.universe.effectiveArchitecture(requirement.from);
      if (!requirement.group.some((relation) => this.isSatisfied(relation, fromArchitecture))) this.satisfy(requirement);
    }
    return this.plan();
  }

  private plan(): ResolvedPlan {
    const selections = [...this.selected.values()].sort(
      (a, b) => compareNames(a.pkg.name, b.pkg.name) || compareNames(a.pkg.architecture, b.pkg.architecture),
    );
    return {
      packages: selections.map((selection) => selection.pkg),
      reasons: new Map(selections.map((selection) => [this.label(selection.pkg), selection.reason])),
    };
  }

  private selectWanted(w: WantedPackage): void {
    const universe = this.universe;
    if (w.architecture !== undefined && w.architecture !== 'native' && w.architecture !== 'any' && !universe.hasArchitecture(w.architecture)) {
      throw new UserError(`"${w.spec}" asks for architecture ${w.architecture}, which this build does not include`);
    }
    const relation: Relation = { name: w.name };
    if (w.architecture !== undefined) relation.archQualifier = w.architecture;
    if (universe.packagesNamed(w.name).length === 0 && universe.providersOf(w.name).length === 0) {
      const suggestions = similarNames(w.name, universe.names());
      throw new UserError(`unknown package "${w.name}"`, suggestions.length ? `did you mean: ${suggestions.join(', ')}?` : undefined);
    }
    if (this.isSatisfied(relation, universe.native) && w.version === undefined) return;
    let pkg: DebPackage;
    if (w.version === undefined) {
      const attempt = this.attempt(relation, universe.native);
      if (attempt.pkg === undefined) throw new UserError(`cannot install requested package "${w.spec}": ${attempt.failure}`);
      pkg = attempt.pkg;
    } else {
      pkg = this.pinnedVersion(w);
      const blocker = this.blockerOf(pkg);
      if (blocker !== undefined && this.selected.get(this.key(pkg))?.pkg !== pkg) {
        throw new UserError(`cannot install requested package "${w.spec}": ${blocker}`);
      }
    }
    this.select(pkg, 'requested', undefined);
  }

  private pinnedVersion(w: WantedPackage): DebPackage {
    const architecture = w.architecture === undefined || w.architecture === 'native' ? this.universe.native : w.architecture;
    const versions = this.universe
      .packagesNamed(w.name)
      .filter((pkg) => w.architecture === 'any' || pkg.architecture === architecture || pkg.architecture === 'all');
    const pkg = versions.find((candidate) => compareVersions(candidate.version, w.version!) === 0);
    if (pkg !== undefined) return pkg;
    const available = versions.map((candidate) => candidate.version).join(', ') || 'none';
    throw new UserError(`package "${w.name}" has no version ${w.version}`, `available: ${available}`);
  }

  private key(pkg: DebPackage): string {
    return `${pkg.name}:${this.universe.effectiveArchitecture(pkg)}`;
  }

  /** The name in reasons and messages: `name`, or `name:arch` for a foreign architecture. */
  private label(pkg: DebPackage): string {
    const architecture = this.universe.effectiveArchitecture(pkg);
    return architecture === this.universe.native ? pkg.name : `${pkg.name}:${architecture}`;
  }

  private select(pkg: DebPackage, reason: string, neededBy: DebPackage | undefined): void {
    if (this.selected.has(this.key(pkg))) return;
    this.selected.set(this.key(pkg), { pkg, reason, neededBy });
    pushTo(this.selectedByName, pkg.name, pkg);
    for (const provided of pkg.provides) {
      pushTo(this.selectedProviders, provided.name, { pkg, version: provided.op === '=' ? provided.version : undefined });
    }
    for (const relation of pkg.conflicts) pushTo(this.conflictsByTarget, relation.name, { from: pkg, relation, verb: 'conflicts with' });
    for (const relation of pkg.breaks) pushTo(this.conflictsByTarget, relation.name, { from: pkg, relation, verb: 'breaks' });
    const enqueue = (verb: Verb) => (group: Relation[]) => {
      const firm = group.length === 1 && this.universe.packagesNamed(group[0]!.name).length > 0;
      (firm ? this.firm : this.choices).push({ from: pkg, verb, group });
    };
    pkg.preDepends.forEach(enqueue('pre-depends on'));
    pkg.depends.forEach(enqueue('depends on'));
  }

  private isSatisfied(relation: Relation, fromArchitecture: string): boolean {
    const universe = this.universe;
    return (
      (this.selectedByName.get(relation.name) ?? []).some((pkg) => universe.realMatches(pkg, relation, fromArchitecture, 'depends')) ||
      (this.selectedProviders.get(relation.name) ?? []).some((provider) =>
        universe.providerMatches(provider, relation, fromArchitecture, 'depends'),
      )
    );
  }

  /** Pick an alternative of an unsatisfied requirement, or explain why none will do. */
  private satisfy(requirement: Requirement): void {
    const fromArchitecture = this.universe.effectiveArchitecture(requirement.from);
    const attempts = requirement.group.map((relation) => ({ relation, attempt: this.attempt(relation, fromArchitecture) }));
    const installable = attempts.filter(({ attempt }) => attempt.pkg !== undefined);
    const chosen =
      installable.find(({ relation, attempt }) => this.prefer.has(relation.name) || this.prefer.has(attempt.pkg!.name)) ??
      installable[0];
    const wants = `${this.label(requirement.from)} ${requirement.verb} ${formatRelationGroup(requirement.group)}`;
    if (chosen === undefined) {
      const chain = `chain: ${this.chainTo(requirement.from)}`;
      if (attempts.length === 1) throw new UserError(`${wants}, but ${attempts[0]!.attempt.failure}`, chain);
      const why = attempts.map(({ relation, attempt }) => `${formatRelation(relation)}: ${attempt.failure}`).join('; ');
      throw new UserError(`${wants}, but no alternative can be installed`, `${why}; ${chain}`);
    }
    this.select(chosen.attempt.pkg!, wants, requirement.from);
  }

  /** The package that would satisfy `relation`: the real package's candidate, else the best provider. */
  private attempt(relation: Relation, fromArchitecture: string): Attempt {
    const universe = this.universe;
    let failure: string | undefined;
    for (const architecture of this.architecturesFor(relation, fromArchitecture)) {
      const candidate = universe.candidate(relation.name, architecture);
      if (candidate === undefined) continue;
      if (!universe.architectureMatches(candidate, relation, fromArchitecture, 'depends')) {
        failure ??= relation.archQualifier === 'any' ? `${relation.name} is not Multi-Arch: allowed` : `${relation.name} is not available for ${architecture}`;
        continue;
      }
      if (!universe.realMatches(candidate, relation, fromArchitecture, 'depends')) {
        failure = `only ${candidate.version} is available`;
        continue;
      }
      const blocker = this.blockerOf(candidate);
      if (blocker === undefined) return { pkg: candidate };
      failure = blocker;
    }
    const providers = universe
      .providersOf(relation.name)
      .filter((provider) => this.isSelected(provider.pkg) || universe.isCandidate(provider.pkg))
      .filter((provider) => universe.providerMatches(provider, relation, fromArchitecture, 'depends'))
      .sort((a, b) => this.compareProviders(a.pkg, b.pkg, fromArchitecture));
    for (const provider of providers) {
      const blocker = this.blockerOf(provider.pkg);
      if (blocker === undefined) return { pkg: provider.pkg };
      failure ??= blocker;
    }
    if (failure === undefined && universe.providersOf(relation.name).length > 0) {
      failure = `no package provides ${formatRelation(relation)}`;
    }
    return { failure: failure ?? 'it is not available' };
  }

  private architecturesFor(relation: Relation, fromArchitecture: string): string[] {
    const native = this.universe.native;
    const qualifier = relation.archQualifier;
    if (qualifier === undefined) return fromArchitecture === native ? [native] : [native, fromArchitecture];
    if (qualifier === 'native' || qualifier === 'all') return [native];
    if (qualifier === 'any') return [native, ...this.universe.architectures.filter((arch) => arch !== native)];
    return this.universe.hasArchitecture(qualifier) ? [qualifier] : [];
  }

  private isSelected(pkg: DebPackage): boolean {
    return this.selected.get(this.key(pkg))?.pkg === pkg;
  }

  /** Already selected, then preferred, then of the depending package's architecture, then by Priority, then by name. */
  private compareProviders(a: DebPackage, b: DebPackage, fromArchitecture: string): number {
    const rank = (pkg: DebPackage): number[] => [
      this.isSelected(pkg) ? 0 : 1,
      this.prefer.has(pkg.name) ? 0 : 1,
      this.universe.effectiveArchitecture(pkg) === fromArchitecture ? 0 : 1,
      PRIORITY_RANK[pkg.priority] ?? 5,
    ];
    const rankA = rank(a);
    const rankB = rank(b);
    for (let i = 0; i < rankA.length; i++) if (rankA[i] !== rankB[i]) return rankA[i]! - rankB[i]!;
    return compareNames(a.name, b.name);
  }

  /** Why `pkg` cannot join the selection (another version, a conflict), or undefined if it can. */
  private blockerOf(pkg: DebPackage): string | undefined {
    const universe = this.universe;
    const architecture = universe.effectiveArchitecture(pkg);
    for (const other of this.selectedByName.get(pkg.name) ?? []) {
      if (other === pkg) continue;
      if (universe.effectiveArchitecture(other) === architecture) return `${this.label(other)} ${other.version} is selected`;
      if (pkg.multiArch !== 'same' || other.multiArch !== 'same' || compareVersions(pkg.version, other.version) !== 0) {
        return `${this.label(pkg)} cannot be installed beside ${this.label(other)}`;
      }
    }
    const check = (relation: Relation, verb: ConflictVerb): string | undefined => {
      for (const other of this.selectedByName.get(relation.name) ?? []) {
        if (other.name !== pkg.name && universe.realMatches(other, relation, architecture, 'conflicts')) {
          return `${this.label(pkg)} ${verb} ${this.label(other)}`;
        }
      }
      for (const provider of this.selectedProviders.get(relation.name) ?? []) {
        if (provider.pkg.name !== pkg.name && universe.providerMatches(provider, relation, architecture, 'conflicts')) {
          return `${this.label(pkg)} ${verb} ${relation.name} (provided by ${this.label(provider.pkg)})`;
        }
      }
      return undefined;
    };
    for (const relation of pkg.conflicts) {
      const found = check(relation, 'conflicts with');
      if (found) return found;
    }
    for (const relation of pkg.breaks) {
      const found = check(relation, 'breaks');
      if (found) return found;
    }
    const asProvider = pkg.provides.map((p) => ({ name: p.name, provider: { pkg, version: p.op === '=' ? p.version : undefined } }));
    for (const { from, relation, verb } of this.conflictsByTarget.get(pkg.name) ?? []) {
      if (from.name !== pkg.name && universe.realMatches(pkg, relation, universe.effectiveArchitecture(from), 'conflicts')) {
        return `${this.label(from)} ${verb} ${this.label(pkg)}`;
      }
    }
    for (const { name, provider } of asProvider) {
      for (const { from, relation, verb } of this.conflictsByTarget.get(name) ?? []) {
        if (from.name !== pkg.name && universe.providerMatches(provider, relation, universe.effectiveArchitecture(from), 'conflicts')) {
          return `${this.label(from)} ${verb} ${name} (provided by ${this.label(pkg)})`;
        }
      }
    }
    return undefined;
  }

  /** `base-files (requested) → libc6 → ...` down to `pkg`. */
  private chainTo(pkg: DebPackage): string {
    const names: string[] = [];
    for (let current: DebPackage | undefined = pkg; current !== undefined; ) {
      const selection = this.selected.get(this.key(current));
      names.unshift(selection?.neededBy === undefined ? `${this.label(current)} (requested)` : this.label(current));
      current = names.length > 1000 ? undefined : selection?.neededBy;
    }
    return names.join(' → ');
  }
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every package needed to install `want` from `universe`, and why each is needed. */
export function resolveDependencies(options: ResolveOptions): ResolvedPlan {
  const universe = new DebUniverse(options.universe, options.architectures);
  return new Resolver(universe, new Set(options.prefer ?? [])).resolve(options.want);
}
