/**
 * The partitions output: NAME.partitions/, one image per partition
 * (1-esp.vfat, 2-root.ext4) and layout.json, the planned layout (offsets,
 * sizes, types, GUIDs, filesystem UUIDs, each image's sha256), as aimager
 * offers them. The disk output is made from it; what the manifest says
 * about a partition comes from the same layout.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { typeInWords } from '../disk/index.ts';
import type { DiskLayout, PlannedPartition } from '../disk/types.ts';
import { FILESYSTEMS } from './filesystems/index.ts';
import { fileDigest } from './manifest.ts';
import { makePartitionImages, type MadePartition } from './partition-images.ts';
import { diskConfig, type DiskPartition } from './partition-plan.ts';
import type { HostTool, OutputDetails, OutputWriter } from './writer.ts';

export const LAYOUT_FILE = 'layout.json';

/** One partition as layout.json and the manifest describe it. */
export interface PartitionRecord {
  number: number;
  /** As configured: esp, root, a GUID, 0x0c. */
  type: string;
  /** In words: "root (x86-64)", "EFI system partition". */
  typeName: string;
  typeGuid?: string;
  mbrType?: string;
  partUuid: string;
  label?: string;
  offset: number;
  size: number;
  attributes?: string;
  bootable?: boolean;
  filesystem: string;
  filesystemUuid?: string;
  contents?: string;
  mount?: string;
  /** The image's file name in NAME.partitions/ (none for an empty partition). */
  image?: string;
  sha256?: string;
}

export interface LayoutFile {
  table: DiskLayout['table'];
  size: number;
  sectorSize: number;
  diskGuid?: string;
  /** MBR: the disk signature as 8 hex digits. */
  diskSignature?: string;
  partitions: PartitionRecord[];
  blobs: { name: string; offset: number; size: number }[];
  /** The plan itself, for the disk output (attributes as decimal text). */
  plan: Omit<DiskLayout, 'partitions'> & { partitions: (Omit<PlannedPartition, 'attributes'> & { attributes: string })[] };
}

async function sha256(file: string): Promise<string> {
  return (await fileDigest(file)).sha256;
}

function record(p: DiskPartition, planned: PlannedPartition, made: MadePartition, digest: string | undefined): PartitionRecord {
  return {
    number: p.number,
    type: p.spec.type,
    typeName: typeInWords(planned),
    ...(planned.typeGuid ? { typeGuid: planned.typeGuid } : {}),
    ...(planned.mbrType !== undefined ? { mbrType: `0x${planned.mbrType.toString(16).padStart(2, '0')}` } : {}),
    partUuid: planned.partUuid,
    ...(planned.label ? { label: planned.label } : {}),
    offset: planned.offset,
    size: planned.size,
    ...(planned.attributes ? { attributes: `0x${planned.attributes.toString(16).padStart(16, '0')}` } : {}),
    ...(p.spec.bootable ? { bootable: true } : {}),
    filesystem: p.image ? 'none (prebuilt image)' : p.filesystem,
    ...(made.filesystemUuid ? { filesystemUuid: made.filesystemUuid } : {}),
    ...(p.contents ? { contents: p.contents } : {}),
    ...(p.mount ? { mount: p.mount } : {}),
    ...(made.image ? { image: made.image } : {}),
    ...(digest ? { sha256: digest } : {}),
  };
}

/** What the manifest lists for a disk made from this layout. */
export function layoutDetails(layout: LayoutFile): OutputDetails {
  const { plan: _plan, ...shown } = layout;
  return shown;
}

/** Reads layout.json back into the plan the table writer takes. */
export async function readLayout(dir: string): Promise<{ file: LayoutFile; layout: DiskLayout }> {
  const file = JSON.parse(await readFile(join(dir, LAYOUT_FILE), 'utf8')) as LayoutFile;
  const layout: DiskLayout = { ...file.plan, partitions: file.plan.partitions.map((p) => ({ ...p, attributes: BigInt(p.attributes) })) };
  return { file, layout };
}

/** The filesystem makers' tools for the filesystems the built-in layouts use; the others are checked when configured (checkDisk). */
const DEFAULT_TOOLS: readonly HostTool[] = [...FILESYSTEMS.ext4.tools, ...FILESYSTEMS.vfat.tools].filter((t, i, all) => all.findIndex((o) => o.command === t.command) === i);

export const partitionsWriter: OutputWriter<never> = {
  fileName: (name) => `${name}.partitions`,
  tools: DEFAULT_TOOLS,
  from: [],
  takesTree: false,
  write: async ({ root, tmp, config, imageDir, machine, sourceDateEpoch, emit }) => {
    const disk = diskConfig(config, imageDir);
    await mkdir(tmp, { mode: 0o755 });
    const { layout, made } = await makePartitionImages(root, tmp, disk, machine, sourceDateEpoch, emit);
    // An image's sha256 is for the images delivered (the partitions output asked for); hashing a disk's worth of images only to delete them cost as long as hashing the disk itself.
    const delivered = config['output.format'].includes('partitions');
    const partitions: PartitionRecord[] = [];
    for (const p of disk.partitions) {
      const m = made[p.number - 1]!;
      const planned = layout.partitions.find((q) => q.number === p.number)!;
      partitions.push(record(p, planned, m, m.image && delivered ? await sha256(join(tmp, m.image)) : undefined));
    }
    const file: LayoutFile = {
      table: layout.table,
      size: layout.size,
      sectorSize: layout.sectorSize,
      ...(layout.table === 'gpt' && layout.diskGuid ? { diskGuid: layout.diskGuid } : {}),
      ...(layout.table === 'mbr' ? { diskSignature: layout.diskSignature.toString(16).padStart(8, '0') } : {}),
      partitions,
      blobs: layout.blobs.map((b) => ({ name: b.name, offset: b.offset, size: b.size })),
      plan: { ...layout, partitions: layout.partitions.map((p) => ({ ...p, attributes: p.attributes.toString() })) },
    };
    await writeFile(join(tmp, LAYOUT_FILE), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
    return layoutDetails(file);
  },
};
