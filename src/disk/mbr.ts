/**
 * The MBR ("dos") partition table for a planned layout: the disk signature
 * at byte 440, up to four primary entries at 446, and 0x55AA at 510, as one
 * 72-byte piece. Bytes 0..439 (boot code) are left to a blob. The CHS
 * fields are filled as util-linux's sfdisk fills them for an LBA disk: from
 * a 255-head, 63-sector geometry, and 1023/254/63 once the cylinder passes
 * 1023.
 */
import type { DiskLayout, TablePiece } from './types.ts';

const SECTOR = 512;
export const MBR_MAX_PARTITIONS = 4;
/** The last byte (exclusive) an MBR can address: 2^32 sectors. */
export const MBR_MAX_BYTES = 2 ** 32 * SECTOR;

const HEADS = 255;
const SECTORS_PER_TRACK = 63;

/** The three CHS bytes (head, sector with the cylinder's two high bits, cylinder's low byte) for `lba`. */
export function chsBytes(lba: number): [number, number, number] {
  let cylinder = Math.floor(lba / (HEADS * SECTORS_PER_TRACK));
  let head = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  let sector = (lba % SECTORS_PER_TRACK) + 1;
  if (cylinder > 1023) {
    cylinder = 1023;
    head = HEADS - 1;
    sector = SECTORS_PER_TRACK;
  }
  return [head, sector | ((cylinder >> 8) << 6), cylinder & 0xff];
}

/** The MBR's one piece for `layout`. */
export function mbrPieces(layout: DiskLayout): TablePiece[] {
  if (layout.partitions.length > MBR_MAX_PARTITIONS) throw new Error(`an MBR holds at most ${MBR_MAX_PARTITIONS} partitions`);
  const b = Buffer.alloc(72);
  b.writeUInt32LE(layout.diskSignature >>> 0, 0);
  for (const p of layout.partitions) {
    if (p.mbrType === undefined) throw new Error(`partition ${p.number} has no MBR type byte`);
    if (p.number < 1 || p.number > MBR_MAX_PARTITIONS) throw new Error(`partition number ${p.number} is outside 1..${MBR_MAX_PARTITIONS}`);
    if (p.offset % SECTOR || p.size % SECTOR || p.size <= 0 || p.offset + p.size > MBR_MAX_BYTES) throw new Error(`partition ${p.number} is not whole sectors below 2 TiB`);
    const first = p.offset / SECTOR;
    const count = p.size / SECTOR;
    const at = 6 + (p.number - 1) * 16;
    b[at] = p.spec.bootable ? 0x80 : 0x00;
    b.set(chsBytes(first), at + 1);
    b[at + 4] = p.mbrType;
    b.set(chsBytes(first + count - 1), at + 5);
    b.writeUInt32LE(first, at + 8);
    b.writeUInt32LE(count, at + 12);
  }
  b[70] = 0x55;
  b[71] = 0xaa;
  return [{ at: 440, bytes: b }];
}
