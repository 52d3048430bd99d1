/**
 * Owners of a directory as the image sees them. A rootless build's directory
 * output is owned, on the host, by the invoking user (the image's root) and
 * its subordinate ids (the image's other users): read as the same user, the
 * ids are mapped back through the mapping kiln builds with, so that the
 * directory compares equal to the tar of the same tree. Root reads the ids as
 * they are (its builds map nothing).
 */
import { planIdMapping, type IdMapping } from '../sandbox/index.ts';

export interface IdView {
  uid(outer: number): number;
  gid(outer: number): number;
}

const AS_IS: IdView = { uid: (id) => id, gid: (id) => id };

export function inverse(lines: IdMapping['uid']): (outer: number) => number {
  return (outer) => {
    for (const [inner, first, count] of lines) if (outer >= first && outer < first + count) return inner + (outer - first);
    return outer;
  };
}

/** The view for this process: the build mapping reversed when not root (and when there is one), else the ids as they are. */
export function imageIdView(): IdView {
  if ((process.getuid?.() ?? 0) === 0) return AS_IS;
  const { mapping } = planIdMapping();
  if (!mapping) return AS_IS;
  return { uid: inverse(mapping.uid), gid: inverse(mapping.gid) };
}
