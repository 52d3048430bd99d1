/**
 * Tar outputs: a deterministic pax archive of the tree (extended attributes
 * kept, times clamped to SOURCE_DATE_EPOCH), piped through the compressor.
 */
import { writeTreeAsTar, type Compression } from '../archive/index.ts';
import { writeCompressedFile } from './compressed-file.ts';
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
      await writeCompressedFile(tmp, compression, async (out) => {
        await writeTreeAsTar(root, out, { mtimeClamp: sourceDateEpoch, xattrs });
        out.end();
      });
    },
  };
}
