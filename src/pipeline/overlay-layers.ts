/**
 * Overlay layers (overlay.layers): tars applied on top of the tree at the
 * end of customize, in order, as OCI image layers are: an entry named
 * `DIR/.wh.NAME` (a whiteout) removes DIR/NAME, and `DIR/.wh..wh..opq` (an
 * opaque whiteout) empties DIR, before any other entry of the layer is
 * written; every other entry is written with its owner, mode, time and
 * extended attributes, through the same confined extraction as packages.
 * `kiln shell --save` writes its changes as such a layer (shell-layer.ts).
 */
import { createReadStream } from 'node:fs';
import { compressionFromName, createExtractor, decompress, readTar, safeComponents } from '../archive/index.ts';
import { Tree } from '../tree/index.ts';

export const WHITEOUT = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

function open(file: string): AsyncIterable<Buffer> {
  const kind = compressionFromName(file);
  return kind === 'none' ? createReadStream(file) : decompress(createReadStream(file), kind);
}

/** What a layer removes: paths whose entries go (whiteouts) and directories emptied (opaque). */
export interface LayerRemovals {
  removed: string[];
  emptied: string[];
}

/** Splits an entry name into a whiteout's meaning, or undefined for an ordinary entry. */
export function whiteoutOf(path: string): { removes: string } | { empties: string } | undefined {
  const parts = safeComponents(path);
  const name = parts.at(-1);
  if (name === undefined || !name.startsWith(WHITEOUT)) return undefined;
  const dir = parts.slice(0, -1).join('/');
  if (name === OPAQUE_WHITEOUT) return { empties: dir };
  const target = name.slice(WHITEOUT.length);
  return { removes: dir ? `${dir}/${target}` : target };
}

/** Applies one layer; returns what it removed and how many entries it wrote. */
export async function applyLayer(root: string, file: string): Promise<LayerRemovals & { written: number }> {
  const tree = new Tree(root);
  const removals: LayerRemovals = { removed: [], emptied: [] };
  for await (const { entry } of readTar(open(file))) {
    const w = whiteoutOf(entry.path);
    if (!w) continue;
    if ('removes' in w) removals.removed.push(w.removes);
    else removals.emptied.push(w.empties);
  }
  for (const dir of removals.emptied) for (const name of tree.isDirectory(dir) && tree.lstat(dir)?.isDirectory() ? tree.readdir(dir) : []) tree.remove(dir ? `${dir}/${name}` : name, { recursive: true });
  for (const rel of removals.removed) tree.remove(rel, { recursive: true });
  const extractor = createExtractor(root, { chown: true, xattrs: true, existingDirectories: 'replace' });
  let written = 0;
  for await (const { entry, body } of readTar(open(file))) {
    if (whiteoutOf(entry.path)) continue;
    await extractor.apply(entry, body);
    written++;
  }
  extractor.finish();
  return { ...removals, written };
}
