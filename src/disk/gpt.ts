/**
 * The GUID Partition Table (UEFI specification, chapter 5) for a planned
 * layout, as the byte pieces that go into the image: the protective MBR,
 * the primary header (LBA 1) and entry array (128 entries of 128 bytes from
 * LBA 2), and at the disk's end the backup entry array and backup header.
 * Bytes 0..439 of sector 0 (boot code) are not part of any piece, so a
 * blob written there stays. Depends on nothing but Node and src/util/crc32.ts.
 */
import { crc32 } from '../util/crc32.ts';
import type { DiskLayout, TablePiece } from './types.ts';

const SECTOR = 512;
const ENTRIES = 128;
const ENTRY_SIZE = 128;
const HEADER_SIZE = 92;
/** Sectors the entry array takes: 128 * 128 / 512. */
const ENTRY_SECTORS = (ENTRIES * ENTRY_SIZE) / SECTOR;
/** The first LBA a partition may use: MBR, header, entry array. */
export const GPT_FIRST_USABLE_LBA = 2 + ENTRY_SECTORS;
/** Sectors at the disk's end the backup takes: entry array and header. */
export const GPT_BACKUP_SECTORS = ENTRY_SECTORS + 1;
/** The longest partition name, in UTF-16 code units. */
export const GPT_NAME_UNITS = 36;

/** A GUID in GPT's encoding: the first three groups little-endian, the last two as written. */
export function guidBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([b.subarray(0, 4).reverse(), b.subarray(4, 6).reverse(), b.subarray(6, 8).reverse(), b.subarray(8)]);
}

/** The 72 bytes at offset 440 of sector 0: signature, one 0xEE entry over the whole disk (or 2 TiB), 0x55AA. */
function protectiveMbr(signature: number, lastLba: number): Buffer {
  const b = Buffer.alloc(72);
  b.writeUInt32LE(signature >>> 0, 0);
  const entry = 6;
  // Start CHS 0/0/2 (LBA 1); end CHS all ones, as util-linux and gdisk write it.
  b.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], entry);
  b.writeUInt32LE(1, entry + 8);
  b.writeUInt32LE(Math.min(lastLba, 0xffffffff), entry + 12);
  b[70] = 0x55;
  b[71] = 0xaa;
  return b;
}

function entryArray(layout: DiskLayout): Buffer {
  const b = Buffer.alloc(ENTRIES * ENTRY_SIZE);
  for (const p of layout.partitions) {
    if (!p.typeGuid || !p.uuid) throw new Error(`partition ${p.number} has no GPT type or GUID`);
    if (p.number < 1 || p.number > ENTRIES) throw new Error(`partition number ${p.number} is outside 1..${ENTRIES}`);
    if (p.offset % SECTOR || p.size % SECTOR || p.size <= 0) throw new Error(`partition ${p.number} is not whole sectors`);
    const at = (p.number - 1) * ENTRY_SIZE;
    guidBytes(p.typeGuid).copy(b, at);
    guidBytes(p.uuid).copy(b, at + 16);
    b.writeBigUInt64LE(BigInt(p.offset / SECTOR), at + 32);
    b.writeBigUInt64LE(BigInt((p.offset + p.size) / SECTOR - 1), at + 40);
    b.writeBigUInt64LE(p.attributes, at + 48);
    const name = Buffer.from(p.label ?? '', 'utf16le');
    if (name.length > GPT_NAME_UNITS * 2) throw new Error(`partition ${p.number}'s name is longer than ${GPT_NAME_UNITS} UTF-16 code units`);
    name.copy(b, at + 56);
  }
  return b;
}

function header(layout: DiskLayout, myLba: number, alternateLba: number, entriesLba: number, lastLba: number, entriesCrc: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.write('EFI PART', 0, 'latin1');
  b.writeUInt32LE(0x00010000, 8);
  b.writeUInt32LE(HEADER_SIZE, 12);
  b.writeBigUInt64LE(BigInt(myLba), 24);
  b.writeBigUInt64LE(BigInt(alternateLba), 32);
  b.writeBigUInt64LE(BigInt(GPT_FIRST_USABLE_LBA), 40);
  b.writeBigUInt64LE(BigInt(lastLba - GPT_BACKUP_SECTORS), 48);
  if (!layout.diskGuid) throw new Error('the GPT layout has no disk GUID');
  guidBytes(layout.diskGuid).copy(b, 56);
  b.writeBigUInt64LE(BigInt(entriesLba), 72);
  b.writeUInt32LE(ENTRIES, 80);
  b.writeUInt32LE(ENTRY_SIZE, 84);
  b.writeUInt32LE(entriesCrc, 88);
  b.writeUInt32LE(crc32(b.subarray(0, HEADER_SIZE)), 16);
  return b;
}

/** The GPT's pieces for `layout`, in the order of their offsets. */
export function gptPieces(layout: DiskLayout): TablePiece[] {
  if (layout.size % SECTOR) throw new Error(`the disk size ${layout.size} is not whole sectors`);
  const lastLba = layout.size / SECTOR - 1;
  if (lastLba < GPT_FIRST_USABLE_LBA + GPT_BACKUP_SECTORS) throw new Error(`a ${layout.size}-byte disk has no room for a GPT`);
  const entries = entryArray(layout);
  const entriesCrc = crc32(entries);
  const backupEntriesLba = lastLba - ENTRY_SECTORS;
  return [
    { at: 440, bytes: protectiveMbr(layout.diskSignature, lastLba) },
    { at: SECTOR, bytes: header(layout, 1, lastLba, 2, lastLba, entriesCrc) },
    { at: 2 * SECTOR, bytes: entries },
    { at: backupEntriesLba * SECTOR, bytes: entries },
    { at: lastLba * SECTOR, bytes: header(layout, lastLba, 1, backupEntriesLba, lastLba, entriesCrc) },
  ];
}
