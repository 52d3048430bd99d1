/**
 * The disk outputs: NAME.raw, the partitioned disk (sparse: the partition
 * images are copied in at their offsets, holes left as holes), assembled by
 * kiln's own table writer (src/disk writeDiskImage) from the partitions
 * output; and its compressed forms, NAME.raw.zst and NAME.raw.xz.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compress, type Compression } from '../archive/index.ts';
import { qemuImgExtents, writeDiskImage } from '../disk/index.ts';
import { findOnPath } from '../util/path.ts';
import { XZ, ZSTD } from './host-tools.ts';
import { layoutDetails, readLayout } from './partitions.ts';
import { diskConfig } from './partition-plan.ts';
import type { OutputWriter } from './writer.ts';

type DiskFormat = 'partitions' | 'disk';

export const diskWriter: OutputWriter<DiskFormat> = {
  fileName: (name) => `${name}.raw`,
  tools: [],
  from: ['partitions'],
  takesTree: false,
  write: async ({ tmp, made, config, imageDir }) => {
    const dir = made.partitions!;
    const { file, layout } = await readLayout(dir);
    const blobFiles = new Map(diskConfig(config, imageDir).blobs.map((b) => [b.name, b.file]));
    const contents = file.partitions.filter((p) => p.image).map((p) => ({ number: p.number, image: join(dir, p.image!) }));
    const blobs = layout.blobs.map((b) => ({ file: blobFiles.get(b.name)!, offset: b.offset }));
    // qemu-img, where the host has it, says where the images' data is, so their holes are not read; without it they are read whole.
    const qemuImg = findOnPath('qemu-img');
    await writeDiskImage(tmp, layout, contents, blobs, qemuImg ? { extents: qemuImgExtents(qemuImg) } : {});
    return layoutDetails(file);
  },
};

/** NAME.raw.zst / NAME.raw.xz: the disk through the compressor (its holes read as zeros). */
export function compressedDiskWriter(compression: Exclude<Compression, 'none' | 'gz'>): OutputWriter<DiskFormat> {
  return {
    fileName: (name) => `${name}.raw.${compression}`,
    tools: [compression === 'xz' ? XZ : ZSTD],
    from: ['disk'],
    takesTree: false,
    write: async ({ tmp, made }) => {
      await pipeline(createReadStream(made.disk!, { highWaterMark: 1 << 20 }), compress(compression), createWriteStream(tmp, { mode: 0o644 }));
    },
  };
}
