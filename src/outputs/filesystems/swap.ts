/** Swap space with mkswap: UUID and label ours, no content; the rest of the file stays a hole. */
import { MKSWAP } from '../host-tools.ts';
import { createSparseFile, runTool } from './tool.ts';
import type { FilesystemMaker } from './types.ts';

const MIB = 1 << 20;

export const swap: FilesystemMaker = {
  name: 'swap',
  tools: [MKSWAP],
  sized: true,
  // mkswap wants at least ten pages; a MiB keeps to the alignment.
  minimumSize: MIB,
  neededSize: () => 0,
  maxLabelBytes: 16,
  fstabId: (uuid) => uuid.toLowerCase(),
  make: async ({ image, size, uuid, label, sourceDateEpoch }) => {
    if (size === undefined) throw new Error('swap needs a size');
    await createSparseFile(image, size);
    await runTool('mkswap', ['-q', '-U', uuid, ...(label ? ['-L', label] : []), image], sourceDateEpoch);
    return { uuid: uuid.toLowerCase(), size };
  },
};
