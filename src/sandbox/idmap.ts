/**
 * Subordinate id ranges (/etc/subuid, /etc/subgid) and the id mapping kiln
 * asks newuidmap/newgidmap for: inner 0 is the invoking user, inner 1..65535
 * come from the user's subordinate range, so ownership inside is real.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface IdRange {
  start: number;
  count: number;
}

/** One line of a uid_map: inner id, outer id, count. */
export type IdMapLine = [inner: number, outer: number, count: number];

export interface IdMapping {
  uid: IdMapLine[];
  gid: IdMapLine[];
}

/** The number of inner ids a Debian/Arch/Alpine system needs (nobody is 65534). */
export const NEEDED_IDS = 65536;

export function parseSubIds(text: string, user: string, id: number): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (!owner || start === undefined || count === undefined) continue;
    if (owner !== user && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) ranges.push({ start: s, count: c });
  }
  return ranges;
}

function readRanges(file: string, user: string, id: number): IdRange[] {
  try {
    return parseSubIds(readFileSync(file, 'utf8'), user, id);
  } catch {
    return [];
  }
}

/** Builds the mapping lines 0 -> own id, then 1.. from the subordinate ranges. */
export function mappingFromRanges(ownId: number, ranges: IdRange[], needed = NEEDED_IDS): IdMapLine[] | undefined {
  const lines: IdMapLine[] = [[0, ownId, 1]];
  let inner = 1;
  for (const range of ranges) {
    if (inner >= needed) break;
    const count = Math.min(range.count, needed - inner);
    lines.push([inner, range.start, count]);
    inner += count;
  }
  return inner >= needed ? lines : undefined;
}

export interface SubIdSources {
  subuid?: string;
  subgid?: string;
}

/**
 * The mapping for the current (non-root) user, or a description of what is
 * missing: the exact lines to add to /etc/subuid and /etc/subgid.
 */
export function planIdMapping(files: SubIdSources = {}): { mapping?: IdMapping; missing?: string } {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const user = userInfo().username;
  const subuid = files.subuid ?? '/etc/subuid';
  const subgid = files.subgid ?? '/etc/subgid';
  const uidLines = mappingFromRanges(uid, readRanges(subuid, user, uid));
  const gidLines = mappingFromRanges(gid, readRanges(subgid, user, uid));
  if (uidLines && gidLines) return { mapping: { uid: uidLines, gid: gidLines } };
  const want = [];
  if (!uidLines) want.push(`"${user}:100000:65536" to ${subuid}`);
  if (!gidLines) want.push(`"${user}:100000:65536" to ${subgid}`);
  return {
    missing: `user ${user} has no subordinate id range of ${NEEDED_IDS} ids; as root, add ${want.join(' and ')} (pick a start that does not overlap other users' ranges)`,
  };
}
