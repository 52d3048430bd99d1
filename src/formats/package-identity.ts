/**
 * A package is what the signed index says it is. The name, version and
 * architecture a package file claims for itself (a .deb's control stanza,
 * a pacman package's .PKGINFO) must equal the plan's, which come from the
 * verified index; anything else is a hostile or broken archive and is
 * refused before its claims are used. File names in the package databases
 * are made from the plan, never from the package.
 */
import { UserError } from '../util/errors.ts';
import type { PlannedPackage } from './types.ts';

const MISMATCH_HINT = 'the mirror serves a package other than the one its signed index lists: the archive is broken or has been tampered with';

export type IdentityField = 'name' | 'version' | 'architecture';

/** Throws when one of the package's own fields differs from the plan's; `fieldNames` says what the format calls them. */
export function checkPackageIdentity(
  planned: Pick<PlannedPackage, IdentityField>,
  claimed: Partial<Record<IdentityField, string>>,
  fieldNames: Record<IdentityField, string>,
): void {
  for (const field of ['name', 'version', 'architecture'] as const) {
    const says = claimed[field];
    if (says === planned[field]) continue;
    const what = says === undefined ? 'has none' : `says ${JSON.stringify(says)}`;
    throw new UserError(`package ${planned.name} ${planned.version}: ${fieldNames[field]} is ${JSON.stringify(planned[field])} in the signed index, but the package ${what}`, MISMATCH_HINT);
  }
}

/** Refuses a name (of a package, a version, an architecture) that does not fit `pattern` before it becomes part of a path. */
export function checkPackageName(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new UserError(`not a valid ${what}: ${JSON.stringify(value.slice(0, 80))}`, MISMATCH_HINT);
  return value;
}
