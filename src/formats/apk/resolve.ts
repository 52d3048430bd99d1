/**
 * Resolving an apk install, as apk's solver decides for a fresh root: every
 * world dependency and every dependency of a chosen package gets one
 * provider; then packages whose install_if all hold join (and bring their
 * dependencies), until nothing changes. apk's preferences among candidates:
 * the package of that very name over a provider of it; among providers the
 * higher provider_priority; then the higher version of the name asked for;
 * then the earlier repository; then the name. A provide without a version
 * (`cmd:sh`, a virtual name) is chosen only by a provider_priority, or when
 * it is the only provider with one; several providers and no priority is
 * the user's choice, and an error that lists them. A name has one package;
 * when a later constraint rules the chosen one out, the name is chosen
 * again under all its constraints. Conflicts (`!name`) are checked on the
 * final set. The install order puts dependencies first (depth first, in
 * world order), as apk commits a changeset. Tagged repositories are used
 * only as their pins allow (pinning.ts).
 */
import { UserError } from '../../util/errors.ts';
import { compareApkVersions } from './version.ts';
import { packageMatches, parseDependencies, parseDependency, parseProvide, providedVersion, providerKind, type ApkDependency } from './deps.ts';
import { joinPinning, NO_PINNING, RepositoryTags, type Pinning } from './pinning.ts';
import type { ApkPackage, ApkRepository } from './types.ts';

/** One dependency to meet: who asked, and the pinning it carries (the world dependency's tag, or its parent's). */
interface Wanted {
  dep: ApkDependency;
  by: string;
  origin: string;
  pinning: Pinning;
  /** A world dependency's tag (or none): which repository's candidates it prefers. */
  prefer?: string;
}

export interface ApkResolveRequest {
  repositories: ApkRepository[];
  /** World dependencies, as written (`busybox`, `musl>=1.2`). */
  targets: string[];
  /** Who asked for a target (`packages.install, kiln.toml:7`), for messages. */
  origins: ReadonlyMap<string, string>;
}

export interface ApkResolution {
  /** Chosen packages, dependencies first. */
  packages: ApkPackage[];
  /** Why each package is there ('requested', 'X depends on it', 'installed because X and Y are'). */
  reasons: Map<string, string>;
}

const MAX_ROUNDS = 50;

/** Candidates for one name, by index: every package that offers the name. */
function indexByName(repositories: ApkRepository[]): Map<string, { pkg: ApkPackage; order: number }[]> {
  const byName = new Map<string, { pkg: ApkPackage; order: number }[]>();
  let order = 0;
  for (const repo of repositories) {
    for (const pkg of repo.packages) {
      const names = new Set([pkg.name, ...pkg.provides.map((p) => parseProvide(p).name)]);
      for (const name of names) {
        const list = byName.get(name) ?? [];
        list.push({ pkg, order });
        byName.set(name, list);
      }
      order++;
    }
  }
  return byName;
}

/** apk's preference: < 0 when `a` is the better choice for `name`. */
function compareCandidates(name: string, a: { pkg: ApkPackage; order: number }, b: { pkg: ApkPackage; order: number }): number {
  const named = (x: ApkPackage) => (x.name === name ? 1 : 0);
  if (named(a.pkg) !== named(b.pkg)) return named(b.pkg) - named(a.pkg);
  const prio = (x: ApkPackage) => x.providerPriority ?? 0;
  if (prio(a.pkg) !== prio(b.pkg)) return prio(b.pkg) - prio(a.pkg);
  const va = providedVersion(a.pkg, name);
  const vb = providedVersion(b.pkg, name);
  if (va !== undefined && vb !== undefined && va !== vb) {
    const c = compareApkVersions(vb, va);
    if (c !== 0) return c;
  }
  if (a.pkg.name === b.pkg.name && a.pkg.version !== b.pkg.version) {
    const c = compareApkVersions(b.pkg.version, a.pkg.version);
    if (c !== 0) return c;
  }
  if (a.order !== b.order && a.pkg.name === b.pkg.name) return a.order - b.order;
  return a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : a.order - b.order;
}

class Solver {
  private readonly byName: Map<string, { pkg: ApkPackage; order: number }[]>;
  /** Every constraint seen on a name, from every round: a re-choice honours them all. */
  private readonly constraints = new Map<string, ApkDependency[]>();
  private readonly tags: RepositoryTags;

  constructor(private readonly request: ApkResolveRequest) {
    this.byName = indexByName(request.repositories);
    this.tags = new RepositoryTags(request.repositories);
  }

  solve(): ApkResolution {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const attempt = this.round();
      if (attempt) return attempt;
    }
    throw new UserError('apk dependencies did not settle: the repositories ask for versions that exclude each other', 'check the versions in packages.install');
  }

  /** One pass from the world; undefined when a name had to be chosen again (a new constraint was learnt). */
  private round(): ApkResolution | undefined {
    const chosen = new Map<string, ApkPackage>();
    const reasons = new Map<string, string>();
    const edges = new Map<string, string[]>();
    /** The pinning each chosen package was allowed by: its dependencies inherit it. */
    const pinnings = new Map<string, Pinning>();
    const queue: Wanted[] = [];
    for (const text of this.request.targets) {
      const dep = parseDependency(text);
      const origin = this.request.origins.get(text) ?? (dep && this.request.origins.get(dep.name)) ?? 'the configuration';
      if (!dep) throw new UserError(`not an apk dependency: ${JSON.stringify(text)} (${origin})`, 'write a package name, optionally with a version or a repository tag: foo, foo>=1.2, foo~1.2, foo@edge');
      if (dep.tag !== undefined) this.tags.checkTag(dep.tag, text, origin);
      queue.push({ dep, by: '', origin, pinning: dep.tag !== undefined ? new Set([dep.tag]) : NO_PINNING, ...(dep.tag !== undefined ? { prefer: dep.tag } : {}) });
    }
    const roots: string[] = [];
    const takeDependencies = (pkg: ApkPackage) => {
      const pinning = pinnings.get(pkg.name) ?? NO_PINNING;
      for (const dep of parseDependencies(pkg.depends)) queue.push({ dep, by: pkg.name, origin: `${pkg.name} ${pkg.version} depends on it`, pinning });
    };
    const process = (): boolean => {
      while (queue.length) {
        const wanted = queue.shift() as Wanted;
        const { dep, by } = wanted;
        if (dep.conflict) continue;
        const present = [...chosen.values()].find((p) => packageMatches(dep, p));
        if (present) {
          // A chosen package met again under a wider pinning passes it on to its dependencies (inherit_pinning).
          const before = pinnings.get(present.name) ?? NO_PINNING;
          const widened = joinPinning(before, wanted.pinning);
          if (widened !== before) {
            pinnings.set(present.name, widened);
            takeDependencies(present);
          }
        }
        const pick = present ?? this.choose(wanted, chosen);
        if (!present) {
          const holder = chosen.get(pick.name);
          if (holder) {
            // The name is taken by a package this dependency rules out: learn the constraint and start again.
            this.learn(pick.name, dep);
            return false;
          }
          chosen.set(pick.name, pick);
          pinnings.set(pick.name, wanted.pinning);
          reasons.set(pick.name, by ? `${by} depends on it` : 'requested');
          takeDependencies(pick);
        }
        if (by) (edges.get(by) ?? edges.set(by, []).get(by))?.push(pick.name);
        else if (!roots.includes(pick.name)) roots.push(pick.name);
      }
      return true;
    };
    if (!process()) return undefined;
    // install_if: a package joins when every one of its conditions holds; its dependencies join with it.
    for (let changed = true; changed; ) {
      changed = false;
      for (const candidate of this.installIfCandidates(chosen, pinnings)) {
        chosen.set(candidate.pkg.name, candidate.pkg);
        pinnings.set(candidate.pkg.name, candidate.pinning);
        reasons.set(candidate.pkg.name, `installed because ${candidate.because} ${candidate.because.includes(' and ') ? 'are' : 'is'}`);
        roots.push(candidate.pkg.name);
        takeDependencies(candidate.pkg);
        if (!process()) return undefined;
        changed = true;
      }
    }
    this.checkConflicts(chosen);
    return { packages: installOrder(roots, edges, chosen), reasons };
  }

  private learn(name: string, dep: ApkDependency): void {
    const list = this.constraints.get(name) ?? [];
    if (!list.some((d) => d.text === dep.text)) list.push(dep);
    this.constraints.set(name, list);
  }

  /** The best candidate for the dependency that meets every constraint learnt on its name and that its pinning allows. */
  private choose(wanted: Wanted, chosen: Map<string, ApkPackage>): ApkPackage {
    const { dep, origin } = wanted;
    const all = this.byName.get(dep.name) ?? [];
    const unpinned = all.filter(({ pkg }) => packageMatches(dep, pkg) && (this.constraints.get(pkg.name) ?? []).every((c) => packageMatches(c, pkg)));
    const matching = unpinned.filter(({ pkg }) => this.tags.allowed(pkg, wanted.pinning));
    if (matching.length === 0 && unpinned.length > 0) {
      const tags = this.tags.pinsThatWouldAllow(unpinned.map((c) => c.pkg));
      throw new UserError(`${dep.text} is only in the repositories tagged ${tags.map((t) => `@${t}`).join(', ')}, which are not used by default (asked for by ${origin})`, `pin it to the repository: packages.install = ["${dep.name}@${tags[0]}"]`);
    }
    const byPreference = (a: { pkg: ApkPackage; order: number }, b: { pkg: ApkPackage; order: number }) => {
      const pa = this.tags.preferred(a.pkg, wanted.prefer) ? 0 : 1;
      const pb = this.tags.preferred(b.pkg, wanted.prefer) ? 0 : 1;
      return pa - pb || compareCandidates(dep.name, a, b);
    };
    const selectable = matching.filter(({ pkg }) => {
      const kind = providerKind(pkg, dep.name);
      return kind === 'named' || kind === 'provides' || pkg.providerPriority !== undefined;
    });
    if (selectable.length === 0) {
      const virtual = matching.filter(({ pkg }) => providerKind(pkg, dep.name) === 'virtual');
      if (virtual.length === 1) return (virtual[0] as { pkg: ApkPackage }).pkg;
      if (virtual.length > 1) {
        const names = [...new Set(virtual.map((v) => v.pkg.name))].sort();
        if (names.length === 1) return virtual.sort(byPreference)[0]!.pkg;
        throw new UserError(`${dep.text} is a virtual name that ${names.join(', ')} provide, and none has a provider_priority (asked for by ${origin})`, `name the one you want in packages.install`);
      }
      const held = chosen.get(dep.name);
      const why = all.length ? `no version of ${dep.name} matches ${dep.text}${held ? ` (${held.name} ${held.version} is chosen)` : ''}` : `nothing provides ${dep.text}`;
      throw new UserError(`${why}, asked for by ${origin}`, all.length ? 'check the version constraint and the repositories' : 'check the package name, distribution.repositories and the architecture');
    }
    selectable.sort(byPreference);
    return (selectable[0] as { pkg: ApkPackage }).pkg;
  }

  /**
   * Packages not chosen whose install_if conditions all hold in `chosen`, newest of each name, by name;
   * one from a tagged repository only when a package that meets a condition carries that tag's pinning.
   */
  private installIfCandidates(chosen: Map<string, ApkPackage>, pinnings: Map<string, Pinning>): { pkg: ApkPackage; because: string; pinning: Pinning }[] {
    const out = new Map<string, { pkg: ApkPackage; because: string; order: number; pinning: Pinning }>();
    for (const list of this.byName.values()) {
      for (const { pkg, order } of list) {
        if (!pkg.installIf.length || chosen.has(pkg.name)) continue;
        const conditions = parseDependencies(pkg.installIf);
        const met = conditions.every((c) => (c.conflict ? ![...chosen.values()].some((p) => packageMatches(c, p)) : [...chosen.values()].some((p) => packageMatches(c, p))));
        if (!met) continue;
        const meeting = [...chosen.values()].filter((p) => conditions.some((c) => !c.conflict && packageMatches(c, p)));
        const pinning = meeting.reduce((acc, p) => joinPinning(acc, pinnings.get(p.name) ?? NO_PINNING), NO_PINNING);
        if (!this.tags.allowed(pkg, pinning)) continue;
        const seen = out.get(pkg.name);
        if (!seen || compareCandidates(pkg.name, { pkg, order }, { pkg: seen.pkg, order: seen.order }) < 0) {
          out.set(pkg.name, { pkg, order, pinning, because: conditions.filter((c) => !c.conflict).map((c) => c.name).join(' and ') });
        }
      }
    }
    return [...out.values()].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1));
  }

  /** `!name` of a chosen package against the set; and a versioned provide has one owner. */
  private checkConflicts(chosen: Map<string, ApkPackage>): void {
    const all = [...chosen.values()];
    for (const pkg of all) {
      for (const dep of parseDependencies(pkg.depends).filter((d) => d.conflict)) {
        const other = all.find((p) => p !== pkg && packageMatches(dep, p));
        if (other) throw new UserError(`${pkg.name} ${pkg.version} conflicts with ${other.name} ${other.version} (${dep.text})`, 'leave one of them out of packages.install');
      }
    }
    const owners = new Map<string, ApkPackage>();
    for (const pkg of all) {
      for (const p of pkg.provides.map(parseProvide)) {
        if (p.version === undefined) continue;
        const owner = owners.get(p.name) ?? chosen.get(p.name);
        if (owner && owner !== pkg) throw new UserError(`${pkg.name} ${pkg.version} and ${owner.name} ${owner.version} both provide ${p.name}, which only one package may`, 'leave one of them out of packages.install');
        owners.set(p.name, pkg);
      }
    }
  }
}

/** Dependencies before the packages that need them: depth first from the world, in order. */
function installOrder(roots: string[], edges: Map<string, string[]>, chosen: Map<string, ApkPackage>): ApkPackage[] {
  const out: ApkPackage[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    if (state.has(name)) return; // done, or a cycle: apk installs a cycle in the order it meets it
    state.set(name, 'visiting');
    for (const dep of edges.get(name) ?? []) visit(dep);
    state.set(name, 'done');
    out.push(chosen.get(name) as ApkPackage);
  };
  for (const name of roots) visit(name);
  for (const name of [...chosen.keys()].sort()) visit(name);
  return out;
}

export function resolveApk(request: ApkResolveRequest): ApkResolution {
  return new Solver(request).solve();
}
