/**
 * Two listings compared path by path: what was added, removed, or changed,
 * and for a change which of its aspects differ.
 */
import type { DiffEntry, Listing } from './types.ts';

export const ASPECTS = ['type', 'content', 'target', 'owner', 'mode', 'time', 'xattrs', 'device'] as const;
export type Aspect = (typeof ASPECTS)[number];

export interface PathChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** The aspects that differ (changed only). */
  aspects: Aspect[];
  a?: DiffEntry;
  b?: DiffEntry;
}

const ASPECT_TEST: Record<Aspect, (a: DiffEntry, b: DiffEntry) => boolean> = {
  type: (a, b) => a.type !== b.type,
  content: (a, b) => a.type === b.type && (a.sha256 !== b.sha256 || a.size !== b.size),
  target: (a, b) => a.type === b.type && a.target !== b.target,
  owner: (a, b) => a.uid !== b.uid || a.gid !== b.gid,
  mode: (a, b) => a.mode !== b.mode,
  time: (a, b) => a.mtime !== b.mtime,
  xattrs: (a, b) => a.xattrs !== b.xattrs,
  device: (a, b) => a.type === b.type && a.device !== b.device,
};

/** An aspect either entry's input cannot give is not compared (a vfat file has no owner to differ in). */
const readable = (aspect: Aspect, a: DiffEntry, b: DiffEntry) => ![a, b].some((e) => (e.unread as readonly Aspect[] | undefined)?.includes(aspect));

/** The aspects in which two entries of one path differ. */
export function differingAspects(a: DiffEntry, b: DiffEntry): Aspect[] {
  return ASPECTS.filter((aspect) => readable(aspect, a, b) && ASPECT_TEST[aspect](a, b));
}

/** Every path that differs, byte-wise sorted; `ignore` aspects do not count. */
export function compareListings(a: Listing, b: Listing, ignore: ReadonlySet<Aspect> = new Set()): PathChange[] {
  const changes: PathChange[] = [];
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) {
      changes.push({ path, kind: 'removed', aspects: [], a: ea });
      continue;
    }
    const aspects = differingAspects(ea, eb).filter((x) => !ignore.has(x));
    if (aspects.length) changes.push({ path, kind: 'changed', aspects, a: ea, b: eb });
  }
  for (const [path, eb] of b) if (!a.has(path)) changes.push({ path, kind: 'added', aspects: [], b: eb });
  return changes.sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)));
}
