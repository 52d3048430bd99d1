/**
 * Tar outputs: a deterministic pax archive of the tree (extended attributes
 * kept, times clamped to SOURCE_DATE_EPOCH), piped through the compressor.
 */
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compress, writeTreeAsTar, type Compression } from '../archive/index.ts';
import { GETFATTR, GZIP, XZ, ZSTD } from './host-tools.ts';
import type { HostTool, OutputWriter } from './writer.ts';

const COMPRESSORS: Record<Compression, HostTool[]> = { none: [], gz: [GZIP], xz: [XZ], zst: [ZSTD] };

export function tarWriter(extension: string, compression: Compression): OutputWriter<never> {
  return {
    fileName: (name) => `${name}.${extension}`,
    tools: [GETFATTR, ...COMPRESSORS[compression]],
    from: [],
    takesTree: false,
    write: async ({ root, tmp, sourceDateEpoch, tree }) => {
      const xattrs = await tree.xattrs();
      const file = createWriteStream(tmp, { mode: 0o644 });
      const tarStream = new PassThrough({ highWaterMark: 1 << 20 });
      const sink = compression === 'none' ? pipeline(tarStream, file) : pipeline(tarStream, compress(compression), file);
      await Promise.all([writeTreeAsTar(root, tarStream, { mtimeClamp: sourceDateEpoch, xattrs }).then(() => tarStream.end()), sink]);
    },
  };
}
