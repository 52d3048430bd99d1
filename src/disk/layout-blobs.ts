/**
 * Where raw blobs may go: inside the disk, clear of each other, of every
 * partition and of the table's own structures. Bytes 0..439 of sector 0
 * (the MBR's boot code, where GRUB's boot.img goes) belong to no structure,
 * so a blob may fill them.
 */
import { UserError } from '../util/errors.ts';
import { GPT_BACKUP_SECTORS, GPT_FIRST_USABLE_LBA } from './gpt.ts';
import { formatSize } from './sizes.ts';
import type { BlobSpec, TableKind } from './types.ts';

const SECTOR = 512;

/** A byte range [start, end) with what it is, for messages. */
export interface Region {
  start: number;
  end: number;
  what: string;
}

/** The table's own structures on a disk of `size` bytes. */
export function tableRegions(table: TableKind, size: number): Region[] {
  if (table === 'mbr') return [{ start: 440, end: 512, what: 'the MBR partition table' }];
  const backupEntries = size - GPT_BACKUP_SECTORS * SECTOR;
  return [
    { start: 440, end: 512, what: 'the protective MBR' },
    { start: 512, end: 1024, what: 'the GPT header' },
    { start: 1024, end: GPT_FIRST_USABLE_LBA * SECTOR, what: 'the GPT partition entry array' },
    { start: backupEntries, end: size - SECTOR, what: 'the backup GPT partition entry array' },
    { start: size - SECTOR, end: size, what: 'the backup GPT header' },
  ];
}

const bytes = (r: { start: number; end: number }): string => `bytes ${r.start}..${r.end - 1}`;

/** Refuses a blob that is empty, lies beyond the disk or overlaps a table structure, a partition or another blob. */
export function checkBlobs(blobs: readonly BlobSpec[], table: TableKind, size: number, partitions: readonly Region[]): void {
  const taken: Region[] = [...tableRegions(table, size), ...partitions];
  for (const blob of blobs) {
    const me: Region = { start: blob.offset, end: blob.offset + blob.size, what: `blob ${blob.name}` };
    if (!Number.isSafeInteger(blob.offset) || blob.offset < 0) throw new UserError(`${me.what} has the offset ${blob.offset}, which is not a byte offset on the disk`, 'give offset as a size such as "8K" or "32K"');
    if (blob.size <= 0) throw new UserError(`${me.what} is empty`, 'give a file that holds the loader, or leave the [[blob]] out');
    if (me.end > size) {
      throw new UserError(`${me.what} (${bytes(me)}) lies beyond the end of the ${size}-byte disk`, `move it (offset) or raise disk.size to at least ${formatSize(me.end + (table === 'gpt' ? GPT_BACKUP_SECTORS * SECTOR : 0))}`);
    }
    const hit = taken.find((r) => me.start < r.end && r.start < me.end);
    if (hit) {
      const hint =
        table === 'gpt' && hit.start < GPT_FIRST_USABLE_LBA * SECTOR
          ? `a GPT takes bytes 440..${GPT_FIRST_USABLE_LBA * SECTOR - 1}: move the blob past them or into bytes 0..439, or use disk.table = "mbr" if the boot ROM reads from there`
          : 'move the blob (offset), or move the partition (offset) so that they do not overlap';
      throw new UserError(`${me.what} (${bytes(me)}) overlaps ${hit.what} (${bytes(hit)})`, hint);
    }
    taken.push(me);
  }
}
