/**
 * Dependency resolution for pacman packages: what `pacman -S TARGETS`
 * installs on an empty root, in the order it installs them. Each step
 * follows libalpm (sync.c, deps.c); the comments say which rule. Pure:
 * repositories in, a plan out.
 */

import { UserError } from '../../util/errors.ts';
import { similarNames } from '../../util/suggest.ts';
import type { PacmanPackage, PacmanRelation, PacmanRepository } from './types.ts';
import { formatRelation, packageSatisfies, parsedRelations, parseRelation, provisionSatisfies, satisfies } from './version.ts';

export interface PacmanResolveOptions {
  /** Searched in this order, as pacman.conf lists them. */
  repositories: readonly PacmanRepository[];
  /** `name`, `repo/name`, a group, or a relation such as `name>=1.2`. */
  targets: readonly string[];
  /** Who asked for each target (base set, board, config file:line), said in the errors that name it. */
  origins?: ReadonlyMap<string, string>;
}

export interface PacmanPlan {
  /** Every package to install, dependencies before the packages that need them. */
  packages: PacmanPackage[];
  /** Why each package is in, by name: 'requested', 'group NAME' or 'required by NAME'. */
  reasons: Map<string, string>;
  /** The targets (installed with reason "explicit"); the rest are dependencies. */
  explicit: Set<string>;
}

function byName(a: PacmanPackage, b: PacmanPackage): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function label(pkg: PacmanPackage): string {
  return `${pkg.repo}/${pkg.name} ${pkg.version}`;
}

/**
 * One repository as libalpm holds a sync database: one package per name (the
 * first entry wins here), and the package list sorted by name — which is the
 * order providers and group members are found in, whatever the order of the
 * database file.
 */
class SyncDb {
  readonly name: string;
  readonly byName = new Map<string, PacmanPackage>();
  readonly sorted: readonly PacmanPackage[];
  #providers: Map<string, PacmanPackage[]> | undefined;
  #groups: Map<string, PacmanPackage[]> | undefined;

  constructor(repository: PacmanRepository) {
    this.name = repository.name;
    for (const pkg of repository.packages) if (!this.byName.has(pkg.name)) this.byName.set(pkg.name, pkg);
    this.sorted = [...this.byName.values()].sort(byName);
  }

  /** Packages with a provision of `name` (at any version), in name order. */
  providersOf(name: string): readonly PacmanPackage[] {
    return this.providers.get(name) ?? [];
  }

  groupMembers(name: string): readonly PacmanPackage[] {
    return this.groups.get(name) ?? [];
  }

  /** Every name something answers to: packages, provisions, groups (for suggestions). */
  *names(): Generator<string> {
    yield* this.byName.keys();
    yield* this.providers.keys();
    yield* this.groups.keys();
  }

  private get providers(): Map<string, PacmanPackage[]> {
    return (this.#providers ??= this.index((pkg) => pkg.provides.map((text) => parseRelation(text).name)));
  }

  private get groups(): Map<string, PacmanPackage[]> {
    return (this.#groups ??= this.index((pkg) => pkg.groups));
  }

  private index(keysOf: (pkg: PacmanPackage) => readonly string[]): Map<string, PacmanPackage[]> {
    const index = new Map<string, PacmanPackage[]>();
    for (const pkg of this.sorted) {
      for (const key of new Set(keysOf(pkg))) {
        const list = index.get(key);
        if (list === undefined) index.set(key, [pkg]);
        else list.push(pkg);
      }
    }
    return index;
  }
}

/**
 * Packages by the names they answer to (their own and their provisions'), in
 * the order added: libalpm scans its lists for the first satisfier
 * (find_dep_satisfier); looking only at the packages that answer to the
 * relation's name finds the same one without the scan.
 */
class Answering {
  private readonly byName = new Map<string, PacmanPackage[]>();

  constructor(packages: Iterable<PacmanPackage> = []) {
    for (const pkg of packages) this.add(pkg);
  }

  add(pkg: PacmanPackage): void {
    for (const name of new Set([pkg.name, ...parsedRelations(pkg).provides.map((provision) => provision.name)])) {
      const list = this.byName.get(name);
      if (list === undefined) this.byName.set(name, [pkg]);
      else list.push(pkg);
    }
  }

  /** Every package that satisfies `relation`, in the order added. */
  satisfiers(relation: PacmanRelation): PacmanPackage[] {
    return (this.byName.get(relation.name) ?? []).filter((pkg) => packageSatisfies(parsedRelations(pkg), relation));
  }

  first(relation: PacmanRelation): PacmanPackage | undefined {
    return this.byName.get(relation.name)?.find((pkg) => packageSatisfies(parsedRelations(pkg), relation));
  }
}

class Resolver {
  private readonly dbs: readonly SyncDb[];
  /** libalpm's trans->add: the targets, in the order given. */
  private readonly targets: PacmanPackage[] = [];
  private readonly targetIndex = new Answering();
  /** The packages resolved so far, in the order they were reached. */
  private readonly resolved = new Map<string, PacmanPackage>();
  private readonly resolvedIndex = new Answering();
  private readonly reasons = new Map<string, string>();
  /** Who pulled each dependency in, to tell the chain in errors. */
  private readonly pulledBy = new Map<string, PacmanPackage>();

  constructor(
    repositories: readonly PacmanRepository[],
    private readonly origins: ReadonlyMap<string, string> = new Map(),
  ) {
    this.dbs = repositories.map((repository) => new SyncDb(repository));
  }

  /** ` (asked for by ...)` for a target whose origin is known. */
  private askedBy(target: string): string {
    const origin = this.origins.get(target);
    return origin === undefined ? '' : ` (asked for by ${origin})`;
  }

  resolve(targets: readonly string[]): PacmanPlan {
    for (const target of targets) this.addTarget(target);
    // sync.c: resolve each target in turn; the targets are preferred satisfiers.
    for (const pkg of this.targets) this.resolveDependencies(pkg);
    const resolved = [...this.resolved.values()];
    this.checkConflicts(resolved);
    const packages = sortByDependencies(resolved);
    return {
      packages,
      reasons: new Map(packages.map((pkg) => [pkg.name, this.reasons.get(pkg.name)!])),
      explicit: new Set(this.targets.map((pkg) => pkg.name)),
    };
  }

  /**
   * pacman's process_target: `repo/name` looks in that repository only; a
   * name (or relation) is satisfied like a dependency, by the package of that
   * name first, else a provider; failing that, it names a group.
   */
  private addTarget(target: string): void {
    let dbs = this.dbs;
    let spec = target;
    const slash = target.indexOf('/');
    if (slash > 0) {
      const repo = target.slice(0, slash);
      const db = this.dbs.find((candidate) => candidate.name === repo);
      if (db === undefined) {
        const names = this.dbs.map((d) => d.name).join(', ');
        throw new UserError(`"${target}" names repository ${repo}, which is not configured`, `repositories: ${names}`);
      }
      dbs = [db];
      spec = target.slice(slash + 1);
    }
    if (spec === '') throw new UserError(`empty package name in target "${target}"`);
    const pkg = this.satisfierIn(dbs, parseRelation(spec), undefined);
    if (pkg !== undefined) return this.addTargetPackage(pkg, 'requested', target);
    // alpm_find_group_pkgs: members from every repository searched, the first repository having a name wins.
    const members = new Map<string, PacmanPackage>();
    for (const db of dbs) for (const member of db.groupMembers(spec)) if (!members.has(member.name)) members.set(member.name, member);
    if (members.size === 0) throw this.targetNotFound(target, spec, dbs);
    for (const member of members.values()) this.addTargetPackage(member, `group ${spec}`, target);
  }

  /** alpm_add_pkg: the same package twice is one target; two packages of one name are an error. */
  private addTargetPackage(pkg: PacmanPackage, reason: string, target: string): void {
    const same = this.targets.find((other) => other.name === pkg.name);
    if (same === pkg) return;
    if (same !== undefined) {
      throw new UserError(
        `"${target}" asks for ${label(pkg)}, but ${label(same)} is already a target`,
        'pacman refuses two packages of one name: keep one of the targets',
      );
    }
    this.targets.push(pkg);
    this.targetIndex.add(pkg);
    this.reasons.set(pkg.name, reason);
  }

  private targetNotFound(target: string, spec: string, dbs: readonly SyncDb[]): UserError {
    const name = parseRelation(spec).name;
    const named = dbs.flatMap((db) => db.byName.get(name) ?? []);
    if (named.length > 0) return new UserError(`no package satisfies "${target}"${this.askedBy(target)}`, `available: ${named.map(label).join(', ')}`);
    const suggestions = similarNames(name, new Set(dbs.flatMap((db) => [...db.names()])));
    const hint = suggestions.length > 0 ? `did you mean: ${suggestions.join(', ')}?` : undefined;
    return new UserError(`unknown package or group "${target}"${this.askedBy(target)}`, hint);
  }

  /**
   * libalpm's resolvedep: the package named like the relation from the first
   * repository whose one fits, else the first provider with a fitting
   * provision, repository by repository, each in name order (pacman asks
   * which provider to take, and takes the first with --noconfirm). Names in
   * `excluding` (already resolved) are passed over.
   */
  private satisfierIn(
    dbs: readonly SyncDb[],
    relation: PacmanRelation,
    excluding: ReadonlyMap<string, unknown> | undefined,
  ): PacmanPackage | undefined {
    for (const db of dbs) {
      const pkg = db.byName.get(relation.name);
      if (pkg !== undefined && satisfies(pkg.version, relation.op, relation.version) && !excluding?.has(pkg.name)) return pkg;
    }
    for (const db of dbs) {
      for (const pkg of db.providersOf(relation.name)) {
        if (pkg.name === relation.name || excluding?.has(pkg.name)) continue;
        if (parsedRelations(pkg).provides.some((provision) => provisionSatisfies(relation, provision))) return pkg;
      }
    }
    return undefined;
  }

  /**
   * _alpm_resolvedeps, depth first: the package joins the list, then each
   * dependency it does not satisfy itself is satisfied by (1) a package
   * already in the list, (2) a target, (3) resolvedep over every repository,
   * never taking a second package of a name already in the list.
   */
  private resolveDependencies(pkg: PacmanPackage): void {
    if (this.resolved.has(pkg.name)) return;
    this.resolved.set(pkg.name, pkg);
    this.resolvedIndex.add(pkg);
    const self = parsedRelations(pkg);
    for (const dependency of self.depends) {
      if (packageSatisfies(self, dependency) || this.resolvedIndex.first(dependency) !== undefined) continue;
      const chosen = this.targetIndex.first(dependency) ?? this.satisfierIn(this.dbs, dependency, this.resolved);
      if (chosen === undefined) throw this.unsatisfied(pkg, dependency);
      if (!this.reasons.has(chosen.name)) {
        this.reasons.set(chosen.name, `required by ${pkg.name}`);
        this.pulledBy.set(chosen.name, pkg);
      }
      this.resolveDependencies(chosen);
    }
  }

  private unsatisfied(pkg: PacmanPackage, dependency: PacmanRelation): UserError {
    const wanted = formatRelation(dependency);
    const chain = [pkg.name];
    for (let at = this.pulledBy.get(pkg.name); at !== undefined; at = this.pulledBy.get(at.name)) chain.unshift(at.name);
    const top = this.origins.get(chain[0] as string);
    const hints = [...(chain.length > 1 ? [`chain: ${chain.join(' → ')}`] : []), ...(top ? [`${chain[0]} was asked for by ${top}`] : [])];
    // resolvedep passes over a second package of a selected name, even one that would fit.
    const taken = this.resolved.get(dependency.name);
    const passedOver = this.dbs.some((db) => {
      const other = db.byName.get(dependency.name);
      return other !== undefined && other !== taken && satisfies(other.version, dependency.op, dependency.version);
    });
    if (taken !== undefined && passedOver) {
      const why = [`${taken.name} is ${this.reasons.get(taken.name)}`, ...hints].join('; ');
      return new UserError(`${pkg.name} requires ${wanted}, but ${label(taken)} is already selected`, why);
    }
    const provisions = (provider: PacmanPackage): string[] =>
      provider.provides
        .filter((text) => provider.name !== dependency.name && parseRelation(text).name === dependency.name)
        .map((text) => `${provider.repo}/${provider.name} provides ${text}`);
    const candidates = [
      ...this.dbs.flatMap((db) => db.byName.get(dependency.name) ?? []).map(label),
      ...this.dbs.flatMap((db) => db.providersOf(dependency.name)).flatMap(provisions),
    ];
    if (candidates.length === 0) return new UserError(`${pkg.name} requires ${wanted}, which no package provides`, hints.join('; ') || undefined);
    const shown = candidates.length > 4 ? [...candidates.slice(0, 4), `${candidates.length - 4} more`] : candidates;
    const available = [`available: ${shown.join(', ')}`, ...hints].join('; ');
    return new UserError(`${pkg.name} requires ${wanted}, which no available version satisfies`, available);
  }

  /**
   * _alpm_innerconflicts: a package's conflicts (versioned or not, matched
   * against names and provisions) against every other selected package.
   * pacman drops one of the two when the other provides its name; kiln asks
   * the user to choose instead of guessing.
   */
  private checkConflicts(selected: readonly PacmanPackage[]): void {
    for (const pkg of selected) {
      for (const conflict of parsedRelations(pkg).conflicts) {
        const other = this.resolvedIndex.satisfiers(conflict).find((candidate) => candidate.name !== pkg.name);
        if (other === undefined) continue;
        const via = conflict.name === other.name && conflict.op === undefined ? '' : ` (${pkg.name} conflicts with ${formatRelation(conflict)})`;
        const why = [pkg, other].map((p) => `${p.name}: ${this.reasons.get(p.name)}`).join('; ');
        throw new UserError(`${label(pkg)} and ${label(other)} are in conflict${via}`, `${why}; ask for only one of them`);
      }
    }
  }
}

/**
 * _alpm_sortbydeps: depth-first over the packages in resolution order, a
 * package's dependencies (every selected package satisfying one of its
 * depends) in that order too, each package emitted after its dependencies.
 * A cycle is broken where the walk closes it: the package reached first is
 * installed after the others (pacman warns "X will be installed before its
 * Y dependency" for the package that closes it).
 */
function sortByDependencies(packages: readonly PacmanPackage[]): PacmanPackage[] {
  const answering = new Answering(packages);
  const position = new Map(packages.map((pkg, i) => [pkg, i]));
  const children = packages.map((pkg) => {
    const found = new Set(parsedRelations(pkg).depends.flatMap((dependency) => answering.satisfiers(dependency).map((dep) => position.get(dep)!)));
    return [...found].sort((a, b) => a - b);
  });
  const UNSEEN = 0;
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(packages.length);
  const order: PacmanPackage[] = [];
  for (let root = 0; root < packages.length; root++) {
    if (state[root] !== UNSEEN) continue;
    const stack = [root];
    const cursor = [0];
    state[root] = OPEN;
    while (stack.length > 0) {
      const top = stack.length - 1;
      const kids = children[stack[top]!]!;
      let next: number | undefined;
      while (next === undefined && cursor[top]! < kids.length) {
        const child = kids[cursor[top]!++]!;
        if (state[child] === UNSEEN) next = child;
      }
      if (next !== undefined) {
        state[next] = OPEN;
        stack.push(next);
        cursor.push(0);
      } else {
        const done = stack.pop()!;
        cursor.pop();
        state[done] = DONE;
        order.push(packages[done]!);
      }
    }
  }
  return order;
}

/** What `pacman -S TARGETS` would install on an empty root, in install order, and why. */
export function resolvePacman(options: PacmanResolveOptions): PacmanPlan {
  return new Resolver(options.repositories, options.origins).resolve(options.targets);
}
