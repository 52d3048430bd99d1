/**
 * Is a signed repository index current? A good signature proves who made an
 * index, not when: a mirror (or a man in the middle) can replay an old,
 * correctly signed index to keep a machine on packages with known holes.
 * These are the checks apt makes of a Release file, for any format whose
 * index carries the dates (Debian's Release; a future format calls the same):
 *
 * - `Valid-Until` in the past: refused (apt: "is expired"), unless
 *   `distribution.check-valid-until = false` (snapshot archives), warned in
 *   every build;
 * - `Date` more than MAX_FUTURE_SECONDS ahead of this machine's clock:
 *   refused (apt: "is not valid yet", Acquire::Max-FutureTime, 10 s),
 *   unless `distribution.check-date = false`, which, as in apt, also turns
 *   off the Valid-Until check.
 */
import { UserError } from '../util/errors.ts';

/** apt's Acquire::Max-FutureTime default. */
export const MAX_FUTURE_SECONDS = 10;

export interface IndexDates {
  /** What the user sees: the index's URL. */
  source: string;
  /** When the index was made, seconds since the epoch (undefined: it does not say). */
  date?: number;
  /** Until when it may be used, seconds since the epoch (undefined: no limit). */
  validUntil?: number;
}

export interface FreshnessPolicy {
  /** This machine's clock, seconds since the epoch. */
  now: number;
  checkValidUntil: boolean;
  checkDate: boolean;
}

/** Throws a `UserError` for an expired or future index; returns the warnings to print when a check is off. */
export function checkIndexFreshness(index: IndexDates, policy: FreshnessPolicy): string[] {
  const warnings: string[] = [];
  if (!policy.checkDate) {
    warnings.push(`date checks are OFF (distribution.check-date = false): ${index.source} is not checked for being expired or from the future`);
    return warnings;
  }
  if (index.date !== undefined && index.date > policy.now + MAX_FUTURE_SECONDS) {
    throw new UserError(
      `${index.source} is not valid yet: dated ${formatUtc(index.date)}, ${formatSpan(index.date - policy.now)} ahead of this machine's clock`,
      "check this machine's clock; to accept it anyway, set distribution.check-date = false",
    );
  }
  if (index.validUntil === undefined) {
    if (!policy.checkValidUntil) warnings.push(`Valid-Until checks are OFF (distribution.check-valid-until = false): ${index.source} would be accepted even if expired`);
    return warnings;
  }
  if (index.validUntil < policy.now) {
    const expired = `${index.source} expired on ${formatUtc(index.validUntil)} (Valid-Until, ${formatSpan(policy.now - index.validUntil)} ago)`;
    if (policy.checkValidUntil) {
      throw new UserError(
        `${expired}: the mirror is out of date or replays an old release`,
        'use an up-to-date mirror; for a snapshot archive, set distribution.check-valid-until = false',
      );
    }
    warnings.push(`${expired}; accepted because distribution.check-valid-until = false`);
  } else if (!policy.checkValidUntil) {
    warnings.push(`Valid-Until checks are OFF (distribution.check-valid-until = false): ${index.source} would be accepted even if expired`);
  }
  return warnings;
}

/** 2023-11-01 00:00:00 UTC */
export function formatUtc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** A rough length of time: "2 years", "3 days", "5 h", "40 s". */
function formatSpan(seconds: number): string {
  const units: [number, string][] = [[365 * 86400, 'years'], [86400, 'days'], [3600, 'h'], [60, 'min']];
  for (const [size, name] of units) if (seconds >= 2 * size) return `${Math.round(seconds / size)} ${name}`;
  return `${Math.round(seconds)} s`;
}
