/**
 * lock.snapshot-mirror: a dated archive holds every version a mirror ever
 * published, under a date. Debian's snapshot archive is laid out as
 * `.../archive/debian/YYYYMMDDTHHMMSSZ/` (the newest snapshot at or before
 * that time), Arch's archive as `.../repos/YYYY/MM/DD/$repo/os/$arch`. The
 * pattern names the parts of the lock's date (UTC) as strftime does; the
 * format fills its own $repo and $arch afterwards.
 */
import { UserError } from '../util/errors.ts';

const PARTS: Record<string, (d: Date) => string> = {
  Y: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  m: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  d: (d) => String(d.getUTCDate()).padStart(2, '0'),
  H: (d) => String(d.getUTCHours()).padStart(2, '0'),
  M: (d) => String(d.getUTCMinutes()).padStart(2, '0'),
  S: (d) => String(d.getUTCSeconds()).padStart(2, '0'),
  '%': () => '%',
};

/** The pattern with the date filled in (seconds since 1970); undefined for an empty pattern. */
export function snapshotMirror(pattern: string, date: number): string | undefined {
  if (!pattern) return undefined;
  const when = new Date(date * 1000);
  return pattern.replace(/%(.?)/g, (_, part: string) => {
    const fill = PARTS[part];
    if (!fill) throw new UserError(`lock.snapshot-mirror: %${part} is not a part of a date`, 'use %Y %m %d %H %M %S (UTC), e.g. .../archive/debian/%Y%m%dT%H%M%SZ');
    return fill(when);
  }).replace(/\/+$/, '');
}
