/**
 * `kiln diff A B` as a function: list both inputs (one after the other, each
 * a listing of metadata and digests), compare, read both package databases,
 * group the changes by package, and fetch the few small text files whose
 * content changed for their unified diff.
 */
import type { Aspect, PathChange } from './compare.ts';
import { compareListings } from './compare.ts';
import { groupByPackage, type PackageGroup } from './group.ts';
import { listInput } from './inputs.ts';
import { readPackageView } from './owners.ts';
import { isText, TEXT_DIFF_MAX_BYTES, unifiedDiff } from './text-diff.ts';
import type { ListedInput } from './types.ts';

export interface DiffOptions {
  /** Aspects not to compare (e.g. `time`). */
  ignore?: ReadonlySet<Aspect>;
  /** At most this many text diffs (the rest are listed with sizes and digests). Default 200. */
  maxTextDiffs?: number;
  warn?: (message: string) => void;
}

export interface DiffReport {
  a: string;
  b: string;
  identical: boolean;
  /** Paths listed in each input. */
  entries: { a: number; b: number };
  /** The inputs' headers (a disk's partition table) where they differ: the lines only A has, and only B has. */
  header: { removed: string[]; added: string[] };
  groups: PackageGroup[];
  /** Unified diffs of small text files whose content changed (in both images), by path. */
  textDiffs: Map<string, string>;
}

export async function diffImages(pathA: string, pathB: string, opts: DiffOptions = {}): Promise<DiffReport> {
  const warn = opts.warn ?? (() => {});
  const inputs: ListedInput[] = [];
  try {
    inputs.push(await listInput(pathA));
    inputs.push(await listInput(pathB));
    const [a, b] = inputs as [ListedInput, ListedInput];
    const changes = compareListings(a.listing, b.listing, opts.ignore);
    const viewA = await readPackageView(a.databaseRoot, (m) => warn(`${pathA}: ${m}`));
    const viewB = await readPackageView(b.databaseRoot, (m) => warn(`${pathB}: ${m}`));
    const groups = groupByPackage(changes, viewA, viewB);
    const textDiffs = await textDiffsOf(changes, a, b, opts.maxTextDiffs ?? 200);
    const header = { removed: (a.header ?? []).filter((l) => !(b.header ?? []).includes(l)), added: (b.header ?? []).filter((l) => !(a.header ?? []).includes(l)) };
    const identical = changes.length === 0 && header.removed.length === 0 && header.added.length === 0;
    return { a: pathA, b: pathB, identical, header, entries: { a: a.listing.size, b: b.listing.size }, groups, textDiffs };
  } finally {
    for (const input of inputs) await input.dispose();
  }
}

/** At most this many bytes of file contents are held for text diffs, per input (the first changed files in path order). */
const TEXT_DIFF_BUDGET_BYTES = 8 * 1024 * 1024;

function withinBudget(budget: number): (c: PathChange) => boolean {
  let used = 0;
  return (c) => {
    const size = Math.max(c.a?.size ?? 0, c.b?.size ?? 0);
    if (used + size > budget) return false;
    used += size;
    return true;
  };
}

async function textDiffsOf(changes: PathChange[], a: ListedInput, b: ListedInput, max: number): Promise<Map<string, string>> {
  const small = (e: PathChange['a']) => e === undefined || (e.type === 'file' && e.size <= TEXT_DIFF_MAX_BYTES);
  const wanted = changes
    .filter((c) => c.kind === 'changed' && c.aspects.includes('content') && small(c.a) && small(c.b))
    .filter(withinBudget(TEXT_DIFF_BUDGET_BYTES))
    .slice(0, max);
  const out = new Map<string, string>();
  if (!wanted.length) return out;
  const paths = new Set(wanted.map((c) => c.path));
  const dataA = await a.readFiles(paths, TEXT_DIFF_MAX_BYTES);
  const dataB = await b.readFiles(paths, TEXT_DIFF_MAX_BYTES);
  for (const c of wanted) {
    const da = dataA.get(c.path);
    const db = dataB.get(c.path);
    if (!da || !db || !isText(da) || !isText(db)) continue;
    out.set(c.path, unifiedDiff(c.path, da.toString('utf8'), db.toString('utf8')));
  }
  return out;
}
