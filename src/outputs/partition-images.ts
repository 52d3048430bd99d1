/**
 * Carrying out the disk plan up to the partition images: stage each
 * partition's part of the tree (partition-stage.ts), measure it, plan the
 * layout once (src/disk planLayout), and make each filesystem with the
 * host's tool, UUIDs from the seed. The result is a directory of images
 * named N-TYPE.FS and the layout beside them (layout-file.ts), from which
 * the disk output assembles the disk.
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { layoutLines, planLayout } from '../disk/index.ts';
import { filesystemUuid } from '../disk/seed.ts';
import type { DiskLayout, LayoutRequest } from '../disk/types.ts';
import { headroomBytes } from '../config/image-kinds.ts';
import { FILESYSTEMS, measureContent } from './filesystems/index.ts';
import { stageContents } from './partition-stage.ts';
import type { DiskConfig, DiskPartition } from './partition-plan.ts';
import type { Emit } from '../util/events.ts';

export interface MadePartition {
  number: number;
  /** The image's file name in the partitions directory; undefined: an empty partition. */
  image?: string;
  /** What fstab and blkid call its filesystem. */
  filesystemUuid?: string;
}

export interface PartitionImages {
  layout: DiskLayout;
  made: MadePartition[];
}

/** The image's file name: 2-root.ext4, 1-esp.vfat, 3-0x83.img (a prebuilt image). */
export const imageName = (p: DiskPartition): string => `${p.number}-${p.spec.type.replace(/[^a-z0-9x-]/gi, '')}.${p.filesystem === 'none' ? 'img' : p.filesystem}`;

interface Sizing {
  needed: number;
  headroom: number;
}

/** Makes every partition's image in `dir` from the tree at `root`, which is as before when this returns. */
export async function makePartitionImages(root: string, dir: string, disk: DiskConfig, machine: string, sourceDateEpoch: number, emit: Emit): Promise<PartitionImages> {
  const work = join(dirname(root), `.kiln-partitions-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'empty'), { recursive: true, mode: 0o755 });
  await mkdir(join(work, 'staged'));
  const withContents = disk.partitions.filter((p) => p.contents !== undefined).map((p) => ({ contents: p.contents!, who: p.describe }));
  const staged = stageContents(root, join(work, 'staged'), withContents);
  try {
    const source = (p: DiskPartition) => (p.contents !== undefined ? staged.source(p.contents) : join(work, 'empty'));
    const made = new Map<number, MadePartition>();
    const sizing = new Map<number, Sizing>();
    for (const p of disk.partitions) {
      const image = join(dir, imageName(p));
      if (p.image) {
        await copyFile(p.image, image, constants.COPYFILE_FICLONE);
        sizing.set(p.number, { needed: (await stat(image)).size, headroom: 0 });
        made.set(p.number, { number: p.number, image: imageName(p) });
      } else if (p.filesystem === 'none') {
        sizing.set(p.number, { needed: 0, headroom: 0 });
        made.set(p.number, { number: p.number });
      } else {
        const maker = FILESYSTEMS[p.filesystem];
        const uuid = filesystemUuid(disk.seed, p.number);
        if (!maker.sized) {
          // erofs and squashfs make the size their content needs: make them first, plan around them.
          const fs = await maker.make({ source: source(p), image, uuid, sourceDateEpoch, ...(p.filesystemLabel ? { label: p.filesystemLabel } : {}) });
          sizing.set(p.number, { needed: fs.size, headroom: 0 });
          made.set(p.number, { number: p.number, image: imageName(p), filesystemUuid: fs.uuid });
        } else {
          const content = await measureContent(source(p));
          const needed = Math.max(maker.neededSize(content), maker.minimumSize);
          sizing.set(p.number, { needed, headroom: headroomBytes(p.headroom, needed) });
        }
      }
    }
    const request: LayoutRequest = {
      table: disk.table,
      diskSize: disk.size,
      alignment: disk.alignment,
      machine,
      seed: disk.seed,
      partitions: disk.partitions.map((p) => ({ spec: p.spec, ...sizing.get(p.number)!, describe: p.describe })),
      blobs: await Promise.all(disk.blobs.map(async (b) => ({ name: b.name, offset: b.offset, size: (await stat(b.file)).size }))),
    };
    const layout = planLayout(request);
    const describe = (q: { number: number }) => {
      const p = disk.partitions[q.number - 1]!;
      return [p.image ? 'prebuilt image' : p.filesystem !== 'none' ? p.filesystem : undefined, p.contents && `from ${p.contents}`].filter(Boolean).join(' ') || undefined;
    };
    for (const line of layoutLines(layout, describe)) emit({ kind: 'log', level: 'info', source: 'disk', message: line });
    for (const p of disk.partitions) {
      if (made.has(p.number) || p.filesystem === 'none') continue;
      const planned = layout.partitions.find((q) => q.number === p.number)!;
      const fs = await FILESYSTEMS[p.filesystem].make({
        source: source(p),
        image: join(dir, imageName(p)),
        size: planned.size,
        uuid: filesystemUuid(disk.seed, p.number),
        sourceDateEpoch,
        ...(p.filesystemLabel ? { label: p.filesystemLabel } : {}),
      });
      made.set(p.number, { number: p.number, image: imageName(p), filesystemUuid: fs.uuid });
    }
    return { layout, made: disk.partitions.map((p) => made.get(p.number)!) };
  } finally {
    staged.restore();
    await rm(work, { recursive: true, force: true });
  }
}

