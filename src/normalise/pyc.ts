/**
 * Python bytecode (PEP 552). A hash-based .pyc (what Debian's py3compile
 * writes in bookworm) depends only on its source and is kept. A
 * timestamp-based one records its source's mtime and size: finalize clamps
 * the source's mtime to SOURCE_DATE_EPOCH, so the recorded time is set to
 * the clamped one (the file stays valid, and the same in every build); one
 * whose recorded size is not its source's is stale and removed (Python
 * compiles it again when it can write there, in memory when it cannot).
 * Bytecode without a source (a sourceless install) is left alone.
 */
import { walkTree } from '../tree/index.ts';
import type { Tree } from '../tree/index.ts';
import type { NormaliseItem } from './types.ts';

/** The source a .pyc belongs to: dir/__pycache__/NAME.TAG[.opt-N].pyc -> dir/NAME.py, dir/NAME.pyc -> dir/NAME.py. */
export function pycSource(path: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash);
  const file = path.slice(slash + 1);
  if (dir === '__pycache__' || dir.endsWith('/__pycache__')) {
    const parent = dir.slice(0, -'__pycache__'.length).replace(/\/$/, '');
    const stem = file.slice(0, file.indexOf('.'));
    return `${parent ? `${parent}/` : ''}${stem}.py`;
  }
  return `${path.slice(0, -'.pyc'.length)}.py`;
}

type PycResult = 'kept' | 'retimed' | 'removed';

/** Normalises one .pyc (see the header). */
export function normalisePyc(tree: Tree, path: string, epoch: number): PycResult {
  const st = tree.lstat(path);
  const source = tree.lstat(pycSource(path));
  if (!st?.isFile() || !source?.isFile() || st.size < 16) return 'kept';
  const data = tree.readBytes(path);
  const flags = data.readUInt32LE(4);
  if (flags !== 0) return 'kept';
  if (data.readUInt32LE(12) !== source.size % 2 ** 32) {
    tree.remove(path);
    return 'removed';
  }
  const clamped = Math.min(Math.floor(source.mtimeMs / 1000), epoch) % 2 ** 32;
  if (data.readUInt32LE(8) === clamped) return 'kept';
  data.writeUInt32LE(clamped, 8);
  tree.write(path, data, { mtime: Math.floor(st.mtimeMs / 1000) });
  return 'retimed';
}

export const PYTHON_BYTECODE: NormaliseItem = {
  name: 'python-bytecode',
  paths: ['**/*.pyc'],
  why: "a timestamp-based .pyc records its source's mtime, which the clamp to SOURCE_DATE_EPOCH changes: the recorded time follows (stale ones are removed); hash-based ones are kept",
  run: (tree, { sourceDateEpoch }) => {
    const pycs: string[] = [];
    walkTree(tree.root, (rel, st) => {
      if (st.isFile() && rel.endsWith('.pyc')) pycs.push(rel);
    });
    const counts: Record<PycResult, number> = { kept: 0, retimed: 0, removed: 0 };
    for (const path of pycs) counts[normalisePyc(tree, path, sourceDateEpoch)]++;
    if (!counts.retimed && !counts.removed) return undefined;
    return `set the source time of ${counts.retimed} timestamp-based .pyc files, removed ${counts.removed} stale ones`;
  },
};
