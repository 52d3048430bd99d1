/**
 * Dependency resolution for Debian packages, like apt without Recommends:
 * follow Depends and Pre-Depends from the requested packages, pick the first
 * installable alternative (or one the caller prefers), never select two
 * packages that conflict. Pure: packages in, a plan out.
 */

import { UserError } from '../../util/errors.ts';
import type { DebPackage } from './packages.ts';
import { formatRelation, formatRelationGroup, type Relation } from './relations.ts';
import { Selection } from './selection.ts';
import { similarNames } from '../../util/suggest.ts';
import { DebUniverse } from './universe.ts';
import { compareVersions } from './version.ts';

export { selectBaseSet, type BaseVariant } from './base-set.ts';

export interface ResolveOptions {
  universe: readonly DebPackage[];
  /** The first is the native architecture. */
  architectures: readonly string[];
  /** Package names, or `name=version`, `name:arch`, `name:arch=version`. */
  want: readonly string[];
  /** Names to pick first when an alternative or a virtual package offers them. */
  prefer?: readonly string[];
  /** Who asked for each wanted spec (board, config file:line), said in the errors that name it. */
  origins?: ReadonlyMap<string, string>;
}

export interface ResolvedPlan {
  /** Every package to install, sorted by name (then architecture). */
  packages: DebPackage[];
  /**
   * Why each package is in: 'requested' or 'NAME depends on X'. Keyed by
   * name, or `name:arch` for a package of a foreign architecture.
   */
  reasons: Map<string, string>;
}

const PRIORITY_RANK: Readonly<Record<string, number>> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

/** One Depends or Pre-Depends entry of a selected package, waiting to be satisfied. */
interface Requirement {
  from: DebPackage;
  verb: 'depends on' | 'pre-depends on';
  group: Relation[];
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
  private readonly selection: Selection;
  /** Requirements naming one real package: settled first, so that choices can see what they bring. */
  private readonly firm: Requirement[] = [];
  /** Alternatives and virtual packages, settled when no firm requirement is left. */
  private readonly choices: Requirement[] = [];

  constructor(
    private readonly universe: DebUniverse,
    private readonly prefer: ReadonlySet<string>,
    private readonly origins: ReadonlyMap<string, string> = new Map(),
  ) {
    this.selection = new Selection(universe);
  }

  /** ` (asked for by ...)` for a wanted spec whose origin is known. */
  private askedBy(spec: string): string {
    const origin = this.origins.get(spec);
    return origin === undefined ? '' : ` (asked for by ${origin})`;
  }

  resolve(want: readonly string[]): ResolvedPlan {
    const wanted = want.map(parseWanted);
    // Real names before virtual ones, so that a virtual request can see a requested provider.
    const isReal = (w: WantedPackage): boolean => this.universe.packagesNamed(w.name).length > 0;
    for (const w of [...wanted.filter(isReal), ...wanted.filter((w) => !isReal(w))]) this.selectWanted(w);
    let firmNext = 0;
    let choiceNext = 0;
    for (;;) {
      const requirement = firmNext < this.firm.length ? this.firm[firmNext++] : this.choices[choiceNext++];
      if (requirement === undefined) break;
      const fromArchitecture = this.universe.effectiveArchitecture(requirement.from);
      const satisfied = requirement.group.some((relation) => this.selection.satisfies(relation, fromArchitecture));
      if (!satisfied) this.satisfy(requirement);
    }
    const selected = this.selection.sorted();
    return {
      packages: selected.map(({ pkg }) => pkg),
      reasons: new Map(selected.map(({ pkg, reason }) => [this.universe.label(pkg), reason])),
    };
  }

  private selectWanted(w: WantedPackage): void {
    const { universe } = this;
    const qualifier = w.architecture;
    if (qualifier !== undefined && qualifier !== 'native' && qualifier !== 'any' && !universe.hasArchitecture(qualifier)) {
      throw new UserError(`"${w.spec}" asks for architecture ${qualifier}, which this build does not include`);
    }
    const isReal = universe.packagesNamed(w.name).length > 0;
    if (!isReal && universe.providersOf(w.name).length === 0) {
      const suggestions = similarNames(w.name, universe.names());
      const hint = suggestions.length > 0 ? `did you mean: ${suggestions.join(', ')}?` : undefined;
      throw new UserError(`unknown package "${w.name}"${this.askedBy(w.spec)}`, hint);
    }
    const relation: Relation = qualifier === undefined ? { name: w.name } : { name: w.name, archQualifier: qualifier };
    let pkg: DebPackage;
    if (w.version === undefined) {
      const selection = this.selection;
      const present = isReal ? selection.hasRealMatch(relation, universe.native) : selection.satisfies(relation, universe.native);
      if (present) return;
      if (!isReal) this.refuseAmbiguousVirtual(w.name);
      const attempt = this.attempt(relation, universe.native);
      if (attempt.pkg === undefined) throw new UserError(`cannot install requested package "${w.spec}"${this.askedBy(w.spec)}: ${attempt.failure}`);
      pkg = attempt.pkg;
    } else {
      pkg = this.pinnedVersion(w);
      const blocker = this.selection.blockerOf(pkg);
      if (blocker !== undefined) throw new UserError(`cannot install requested package "${w.spec}": ${blocker}`);
    }
    this.select(pkg, 'requested', undefined);
  }

  /** Like apt, a requested virtual package with several providers must be made definite (or preferred). */
  private refuseAmbiguousVirtual(name: string): void {
    const { universe } = this;
    const providers = new Set(
      universe
        .providersOf(name)
        .filter(({ pkg }) => universe.isCandidate(pkg))
        .map(({ pkg }) => pkg.name),
    );
    if (providers.size > 1 && ![...providers].some((provider) => this.prefer.has(provider))) {
      const names = [...providers].sort().join(', ');
      throw new UserError(`"${name}" is a virtual package provided by several packages`, `ask for one of: ${names}`);
    }
  }

  private pinnedVersion(w: WantedPackage): DebPackage {
    const native = this.universe.native;
    const architecture = w.architecture === undefined || w.architecture === 'native' ? native : w.architecture;
    const versions = this.universe
      .packagesNamed(w.name)
      .filter((pkg) => w.architecture === 'any' || pkg.architecture === architecture || pkg.architecture === 'all');
    const pkg = versions.find((candidate) => compareVersions(candidate.version, w.version!) === 0);
    if (pkg !== undefined) return pkg;
    const available = versions.map((candidate) => candidate.version).join(', ') || 'none';
    throw new UserError(`package "${w.name}" has no version ${w.version}`, `available: ${available}`);
  }

  private select(pkg: DebPackage, reason: string, neededBy: DebPackage | undefined): void {
    if (!this.selection.add(pkg, reason, neededBy)) return;
    const enqueue = (verb: Requirement['verb']) => (group: Relation[]) => {
      const firm = group.length === 1 && this.universe.packagesNamed(group[0]!.name).length > 0;
      (firm ? this.firm : this.choices).push({ from: pkg, verb, group });
    };
    pkg.preDepends.forEach(enqueue('pre-depends on'));
    pkg.depends.forEach(enqueue('depends on'));
  }

  /** Pick an alternative of an unsatisfied requirement, or explain why none will do. */
  private satisfy(requirement: Requirement): void {
    const fromArchitecture = this.universe.effectiveArchitecture(requirement.from);
    const attempts = requirement.group.map((relation) => ({ relation, ...this.attempt(relation, fromArchitecture) }));
    const installable = attempts.filter((attempt) => attempt.pkg !== undefined);
    const chosen =
      installable.find(({ relation, pkg }) => this.prefer.has(relation.name) || this.prefer.has(pkg!.name)) ??
      installable[0];
    const wants = `${this.universe.label(requirement.from)} ${requirement.verb} ${formatRelationGroup(requirement.group)}`;
    if (chosen === undefined) {
      const chain = `chain: ${this.selection.chainTo(requirement.from)}`;
      if (attempts.length === 1) throw new UserError(`${wants}, but ${attempts[0]!.failure}`, chain);
      const why = attempts.map(({ relation, failure }) => `${formatRelation(relation)}: ${failure}`).join('; ');
      throw new UserError(`${wants}, but no alternative can be installed`, `${why}; ${chain}`);
    }
    this.select(chosen.pkg!, wants, requirement.from);
  }

  /** The package that would satisfy `relation`: the real package's candidate, else the best provider. */
  private attempt(relation: Relation, fromArchitecture: string): Attempt {
    const { universe } = this;
    let failure: string | undefined;
    for (const architecture of this.architecturesFor(relation, fromArchitecture)) {
      const candidate = universe.candidate(relation.name, architecture);
      if (candidate === undefined) continue;
      if (!universe.architectureMatches(candidate, relation, fromArchitecture, 'depends')) {
        failure ??=
          relation.archQualifier === 'any'
            ? `${relation.name} is not Multi-Arch: allowed`
            : `${candidate.name}:${candidate.architecture} is not Multi-Arch: foreign`;
        continue;
      }
      failure = universe.realMatches(candidate, relation, fromArchitecture, 'depends')
        ? this.selection.blockerOf(candidate)
        : `only ${candidate.version} is available`;
      if (failure === undefined) return { pkg: candidate };
    }
    const providers = universe
      .providersOf(relation.name)
      .filter(({ pkg }) => this.selection.has(pkg) || universe.isCandidate(pkg))
      .filter((provider) => universe.providerMatches(provider, relation, fromArchitecture, 'depends'))
      .sort((a, b) => this.compareProviders(a.pkg, b.pkg, fromArchitecture));
    for (const { pkg } of providers) {
      const blocker = this.selection.blockerOf(pkg);
      if (blocker === undefined) return { pkg };
      failure ??= blocker;
    }
    return { failure: failure ?? this.unavailability(relation) };
  }

  /** Why nothing at all answers to `relation`. */
  private unavailability(relation: Relation): string {
    if (this.universe.providersOf(relation.name).length > 0) return `no package provides ${formatRelation(relation)}`;
    const named = this.universe.packagesNamed(relation.name);
    if (named.length === 0) return 'it is not available';
    return `${relation.name} is only available for ${[...new Set(named.map((pkg) => pkg.architecture))].join(', ')}`;
  }

  /** Where to look for a real package: native first, then what the relation allows. */
  private architecturesFor(relation: Relation, fromArchitecture: string): string[] {
    const { native, architectures } = this.universe;
    const qualifier = relation.archQualifier;
    if (qualifier === undefined) return fromArchitecture === native ? [native] : [native, fromArchitecture];
    if (qualifier === 'native' || qualifier === 'all') return [native];
    if (qualifier === 'any') return [...architectures];
    return this.universe.hasArchitecture(qualifier) ? [qualifier] : [];
  }

  /** Already selected, then preferred, then of the depending package's architecture, then by Priority, then by name. */
  private compareProviders(a: DebPackage, b: DebPackage, fromArchitecture: string): number {
    const rank = (pkg: DebPackage): number[] => [
      this.selection.has(pkg) ? 0 : 1,
      this.prefer.has(pkg.name) ? 0 : 1,
      this.universe.effectiveArchitecture(pkg) === fromArchitecture ? 0 : 1,
      PRIORITY_RANK[pkg.priority] ?? 5,
    ];
    const rankA = rank(a);
    const rankB = rank(b);
    for (let i = 0; i < rankA.length; i++) if (rankA[i] !== rankB[i]) return rankA[i]! - rankB[i]!;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  }
}

/** Every package needed to install `want` from `universe`, and why each is needed. */
export function resolveDependencies(options: ResolveOptions): ResolvedPlan {
  const universe = new DebUniverse(options.universe, options.architectures);
  return new Resolver(universe, new Set(options.prefer ?? []), options.origins).resolve(options.want);
}
