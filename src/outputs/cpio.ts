/**
 * cpio outputs (initramfs, netboot): the tree as a deterministic newc
 * archive (src/archive/tree-cpio.ts), piped through the compressor. newc
 * has no room for extended attributes: when the tree has any, the build
 * log says so once, however many cpio outputs are asked for.
 */
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compress, writeTreeAsCpio, type Compression, type XattrMap } from '../archive/index.ts';
import { GETFATTR, GZIP, ZSTD } from './host-tools.ts';
import type { Emit } from '../util/events.ts';
import type { HostTool, OutputWriter, TreeFacts } from './writer.ts';

const COMPRESSORS: Record<Exclude<Compression, 'xz'>, HostTool[]> = { none: [], gz: [GZIP], zst: [ZSTD] };

/** The one warning line for a tree whose extended attributes a cpio archive drops, or undefined when it has none. */
export function droppedXattrsLine(xattrs: XattrMap): string | undefined {
  const paths = [...xattrs].filter(([, attrs]) => attrs.size > 0);
  if (paths.length === 0) return undefined;
  const [path, attrs] = paths.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0]!;
  const example = `/${path === '.' ? '' : path} (${[...attrs.keys()].sort().join(', ')})`;
  const more = paths.length > 1 ? ` and ${paths.length - 1} more path${paths.length > 2 ? 's' : ''}` : '';
  return `cpio (newc) cannot hold extended attributes: ${example}${more} lose theirs in the cpio output`;
}

/** The requests (by their shared tree facts) already warned: cpio and cpio.zst in one build say it once. */
const warned = new WeakSet<TreeFacts>();

async function warnDroppedXattrs(tree: TreeFacts, emit: Emit): Promise<void> {
  if (warned.has(tree)) return;
  warned.add(tree);
  const line = droppedXattrsLine(await tree.xattrs());
  if (line) emit({ kind: 'log', level: 'warn', source: 'cpio', message: line });
}

export function cpioWriter(extension: string, compression: Exclude<Compression, 'xz'>): OutputWriter<never> {
  return {
    fileName: (name) => `${name}.${extension}`,
    tools: [GETFATTR, ...COMPRESSORS[compression]],
    from: [],
    takesTree: false,
    write: async ({ root, tmp, sourceDateEpoch, tree, emit }) => {
      await warnDroppedXattrs(tree, emit);
      const file = createWriteStream(tmp, { mode: 0o644 });
      const archive = new PassThrough({ highWaterMark: 1 << 20 });
      const sink = compression === 'none' ? pipeline(archive, file) : pipeline(archive, compress(compression), file);
      const [{ entries }] = await Promise.all([writeTreeAsCpio(root, archive, { mtimeClamp: sourceDateEpoch }), sink]);
      return { entries };
    },
  };
}
