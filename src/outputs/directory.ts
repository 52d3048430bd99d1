/**
 * The directory output: the tree itself. It is moved into place when the
 * workspace is on disk (so it takes the tree away), copied from a tmpfs.
 */
import { rename } from 'node:fs/promises';
import { run } from '../util/run.ts';
import { CP } from './host-tools.ts';
import type { OutputWriter } from './writer.ts';

export const directoryWriter: OutputWriter<never> = {
  fileName: (name) => name,
  tools: [CP],
  from: [],
  takesTree: true,
  write: async ({ root, tmp, rootOnTmpfs }) => {
    if (rootOnTmpfs) await run('cp', ['-a', '--reflink=auto', root, tmp]);
    else await rename(root, tmp);
  },
};
