/**
 * apk's repository pinning (apk-repositories(5), apk-world(5); solver.c's
 * tag_ok / tag_preferred): a repository listed as `@tag URL` is not used by
 * default. A package from it may be chosen only for a dependency pinned to
 * that tag (`name@tag` in the world), or for a dependency of a package so
 * chosen (its pinning is inherited, as inherit_pinning does), or as an
 * install_if of one. Untagged repositories are always allowed. Among the
 * allowed candidates a world dependency `name@tag` prefers the tagged
 * repository's; every other dependency prefers the untagged repositories'.
 */
import { UserError } from '../../util/errors.ts';
import type { ApkPackage, ApkRepository } from './types.ts';

/** The tags a package was allowed by: none for the untagged repositories alone. */
export type Pinning = ReadonlySet<string>;

export const NO_PINNING: Pinning = new Set();

export class RepositoryTags {
  private readonly byRepo = new Map<string, string>();

  constructor(repositories: readonly ApkRepository[]) {
    for (const r of repositories) if (r.tag !== undefined) this.byRepo.set(r.name, r.tag);
  }

  /** The tag of the repository `pkg` was read from; undefined for an untagged one. */
  tagOf(pkg: ApkPackage): string | undefined {
    return this.byRepo.get(pkg.repo);
  }

  /** apk's tag_ok: the package's repository is untagged, or its tag is in the pinning. */
  allowed(pkg: ApkPackage, pinning: Pinning): boolean {
    const tag = this.tagOf(pkg);
    return tag === undefined || pinning.has(tag);
  }

  /** apk's tag_preferred: from the repository tagged `prefer`, or (without one) from an untagged repository. */
  preferred(pkg: ApkPackage, prefer: string | undefined): boolean {
    return this.tagOf(pkg) === prefer;
  }

  /** A world dependency's tag must be some repository's; `origin` says who asked. */
  checkTag(tag: string, text: string, origin: string): void {
    if ([...this.byRepo.values()].includes(tag)) return;
    const known = [...new Set(this.byRepo.values())].sort();
    throw new UserError(`${text} (${origin}) is pinned to @${tag}, but no repository is tagged ${tag}${known.length ? ` (tags: ${known.join(', ')})` : ''}`, `give the repository a tag: distribution.extra-repositories = [{ name = "...", server = "...", tag = "${tag}" }]`);
  }

  /** Why no allowed candidate matched, when some in tagged repositories did: the tags that would allow them. */
  pinsThatWouldAllow(candidates: readonly ApkPackage[]): string[] {
    return [...new Set(candidates.flatMap((p) => this.tagOf(p) ?? []))].sort();
  }
}

/** `a` and `b` together, `a` itself when `b` adds nothing. */
export function joinPinning(a: Pinning, b: Pinning): Pinning {
  if ([...b].every((t) => a.has(t))) return a;
  return new Set([...a, ...b]);
}
