/**
 * pacman versions and relations: `[epoch:]pkgver[-pkgrel]`, ordered exactly
 * as libalpm's `alpm_pkg_vercmp` (the `vercmp` tool) orders them, and the
 * relation strings of depends/provides/conflicts (`name`, `name>=1.2-3`,
 * `name: description` in optdepends) matched as libalpm matches them.
 */

import type { PacmanPackage, PacmanRelation } from './types.ts';

export type PacmanVersionOp = NonNullable<PacmanRelation['op']>;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** ASCII letters only: libalpm uses isalpha() in the C locale, so every non-ASCII byte is a separator. */
function isAlpha(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isAlnum(code: number): boolean {
  return isDigit(code) || isAlpha(code);
}

/**
 * One code unit per byte: libalpm walks UTF-8 bytes, and a separator's
 * length (compared below) is counted in bytes.
 */
function asBytes(text: string): string {
  return /[^\u0000-\u007f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * rpmvercmp, as libalpm has it: alternating runs of separators (anything not
 * ASCII alphanumeric) and segments (all digits or all letters).
 * - a longer run of separators is newer (`1..1` > `1.1`, `1_1` = `1.1`);
 * - a numeric segment is newer than an alphabetic one (`1.1` > `1.a`);
 * - numbers compare by value (`01` = `1`), letters bytewise;
 * - when one side runs out, it is older unless what the other has left starts
 *   with a letter (`1.0` < `1.0.1`, `1.0` < `1.0.`, but `1.0a` < `1.0`,
 *   `1.0~rc1` > `1.0`: `~` is not special, unlike dpkg).
 */
function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const separatorA = i;
    const separatorB = j;
    while (i < a.length && !isAlnum(a.charCodeAt(i))) i++;
    while (j < b.length && !isAlnum(b.charCodeAt(j))) j++;
    if (i >= a.length || j >= b.length) break;
    if (i - separatorA !== j - separatorB) return i - separatorA < j - separatorB ? -1 : 1;

    const numeric = isDigit(a.charCodeAt(i));
    const inSegment = numeric ? isDigit : isAlpha;
    let startA = i;
    let startB = j;
    while (i < a.length && inSegment(a.charCodeAt(i))) i++;
    while (j < b.length && inSegment(b.charCodeAt(j))) j++;
    // b has a segment of the other kind here: numbers are newer than letters.
    if (j === startB) return numeric ? 1 : -1;
    if (numeric) {
      while (startA < i && a.charCodeAt(startA) === 48) startA++;
      while (startB < j && b.charCodeAt(startB) === 48) startB++;
      if (i - startA !== j - startB) return i - startA < j - startB ? -1 : 1;
    }
    const segmentA = a.slice(startA, i);
    const segmentB = b.slice(startB, j);
    if (segmentA !== segmentB) return segmentA < segmentB ? -1 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  // The rest decides: a leftover that starts with a letter never beats the end.
  if ((i >= a.length && !isAlpha(b.charCodeAt(j))) || isAlpha(a.charCodeAt(i))) return -1;
  return 1;
}

interface Evr {
  epoch: string;
  pkgver: string;
  /** Undefined when there is no `-`: then pkgrel is left out of the comparison. */
  pkgrel: string | undefined;
}

/** libalpm's parseEVR: the epoch is leading digits followed by `:` (else 0), pkgrel follows the last `-`. */
function splitEvr(version: string): Evr {
  let s = 0;
  while (s < version.length && isDigit(version.charCodeAt(s))) s++;
  const hasEpoch = version.charCodeAt(s) === 58; // ':'
  const start = hasEpoch ? s + 1 : 0;
  const hyphen = version.lastIndexOf('-');
  const end = hyphen >= start ? hyphen : version.length;
  return {
    epoch: hasEpoch && s > 0 ? version.slice(0, s) : '0',
    pkgver: version.slice(start, end),
    pkgrel: hyphen >= start ? version.slice(hyphen + 1) : undefined,
  };
}

/**
 * Order two pacman versions like `vercmp` (alpm_pkg_vercmp): -1, 0 or 1.
 * Epoch first, then pkgver, then pkgrel only when both versions have one
 * (so `1.0` = `1.0-5`).
 */
export function comparePacmanVersions(a: string, b: string): number {
  if (a === b) return 0;
  const left = splitEvr(asBytes(a));
  const right = splitEvr(asBytes(b));
  let order = rpmvercmp(left.epoch, right.epoch) || rpmvercmp(left.pkgver, right.pkgver);
  if (order === 0 && left.pkgrel !== undefined && right.pkgrel !== undefined) order = rpmvercmp(left.pkgrel, right.pkgrel);
  return order;
}

/**
 * Whether `version` satisfies `op wanted` (libalpm's dep_vercmp). No operator
 * means any version. Because the comparison skips pkgrel unless both sides
 * have one, `foo>=1.2` accepts `1.2-1` and `foo=1.2` accepts every `1.2-N`.
 */
export function satisfies(version: string, op: PacmanVersionOp | undefined, wanted: string | undefined): boolean {
  if (op === undefined || wanted === undefined) return true;
  const order = comparePacmanVersions(version, wanted);
  switch (op) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '=':
      return order === 0;
    case '>=':
      return order >= 0;
    case '>':
      return order > 0;
  }
}

/**
 * Parse a relation as alpm_dep_from_string does: an optdepends description
 * follows the first `: ` (with the space, so an epoch is not mistaken for
 * one); the operator is the first `<` (or `<=`), else the first `>` (or
 * `>=`), else the first `=`; the name is what precedes it.
 */
export function parseRelation(text: string): PacmanRelation {
  const colon = text.indexOf(': ');
  const body = colon === -1 ? text : text.slice(0, colon);
  const relation: PacmanRelation = { name: body };
  if (colon !== -1) relation.description = text.slice(colon + 2);
  let at = body.indexOf('<');
  if (at === -1) at = body.indexOf('>');
  if (at !== -1) {
    const orEqual = body[at + 1] === '=';
    relation.op = `${body[at]}${orEqual ? '=' : ''}` as PacmanVersionOp;
    relation.version = body.slice(at + (orEqual ? 2 : 1));
  } else {
    at = body.indexOf('=');
    if (at === -1) return relation;
    relation.op = '=';
    relation.version = body.slice(at + 1);
  }
  relation.name = body.slice(0, at);
  return relation;
}

/** `name`, `name>=1.2-3`, `name: description`: the inverse of parseRelation. */
export function formatRelation(relation: PacmanRelation): string {
  const versioned = relation.op === undefined ? relation.name : `${relation.name}${relation.op}${relation.version ?? ''}`;
  return relation.description === undefined ? versioned : `${versioned}: ${relation.description}`;
}

/** Whether the real package `pkgName pkgVersion` satisfies `relation` by its own name (not by what it provides). */
export function relationSatisfiedBy(relation: PacmanRelation, pkgName: string, pkgVersion: string): boolean {
  return relation.name === pkgName && satisfies(pkgVersion, relation.op, relation.version);
}

/**
 * Whether one `provides` entry satisfies `relation` (_alpm_depcmp_provides):
 * an unversioned relation takes any provision of the name; a versioned one
 * only a provision written with `=` whose version fits. So `sh=5.2` satisfies
 * `sh>=5`, while a bare `sh` (or `sh>=5`) provision satisfies only `sh`.
 */
export function provisionSatisfies(relation: PacmanRelation, provision: PacmanRelation): boolean {
  if (provision.name !== relation.name) return false;
  if (relation.op === undefined) return true;
  return provision.op === '=' && satisfies(provision.version!, relation.op, relation.version);
}

/** The fields that relation matching reads, so that callers can pass parsed provides. */
export interface Satisfier {
  name: string;
  version: string;
  provides: readonly PacmanRelation[];
}

/** Whether a package satisfies `relation`, by name or by one of its provisions (_alpm_depcmp). */
export function packageSatisfies(pkg: Satisfier, relation: PacmanRelation): boolean {
  return (
    relationSatisfiedBy(relation, pkg.name, pkg.version) ||
    pkg.provides.some((provision) => provisionSatisfies(relation, provision))
  );
}

/** A package's relation fields, parsed once per package (repositories hold ~15 000 of them; few are looked at). */
export interface ParsedRelations extends Satisfier {
  depends: readonly PacmanRelation[];
  conflicts: readonly PacmanRelation[];
}

const parsedCache = new WeakMap<PacmanPackage, ParsedRelations>();

export function parsedRelations(pkg: PacmanPackage): ParsedRelations {
  let parsed = parsedCache.get(pkg);
  if (parsed === undefined) {
    parsed = {
      name: pkg.name,
      version: pkg.version,
      provides: pkg.provides.map(parseRelation),
      depends: pkg.depends.map(parseRelation),
      conflicts: pkg.conflicts.map(parseRelation),
    };
    parsedCache.set(pkg, parsed);
  }
  return parsed;
}
