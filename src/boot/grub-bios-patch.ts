/**
 * GRUB's BIOS boot code as grub-bios-setup leaves it on a disk, made from
 * the image's own boot.img and core.img without a device: pure byte work.
 *
 * boot.img (the MBR's code, one sector): the BIOS runs it; it reads one
 * sector (core.img's first, diskboot.img) from the LBA at byte 0x5c, from
 * the drive the BIOS says it booted from, with the check at 0x66 (a jump
 * over a fix for BIOSes that pass 0x00/0x01 for a hard disk) replaced by two
 * NOPs on a hard disk, and 0xff at 0x64 ("the boot drive as passed"). Bytes
 * 3..0x59 (a DOS BPB) come from the disk's sector as it was, and 440..511
 * (disk signature, partition table, 0x55AA) stay the disk's: kiln writes
 * only bytes 0..439, and its table writer leaves 3..0x59 zero.
 *
 * core.img: diskboot.img's block list ends its first sector, entries of
 * 12 bytes (start LBA u64, sector count u16, load segment u16) growing
 * down from byte 500; the first names the rest of core.img (start + 1,
 * sectors - 1, segment 0x820), the one below it is zero (the end). core.img
 * is padded with zeros to whole sectors. grub-bios-setup --no-rs-codes
 * writes exactly this; without that option it also fills the sectors after
 * core.img with Reed-Solomon codes, which only repair a damaged copy.
 */

export const SECTOR = 512;
/** Where boot.img keeps the LBA of core.img's first sector (u64, little-endian). */
export const KERNEL_SECTOR_AT = 0x5c;
/** boot.img's boot drive byte: 0xff uses the drive the BIOS passed in DL. */
export const BOOT_DRIVE_AT = 0x64;
/** boot.img's two-byte jump over the "hard disk passed as floppy" workaround. */
export const DRIVE_CHECK_AT = 0x66;
/** The DOS BPB's bytes in the boot sector, kept from the disk. */
export const BPB_START = 0x03;
export const BPB_END = 0x5a;
/** The first byte of the MBR that belongs to the partition table (disk signature at 440). */
export const BOOT_CODE_BYTES = 440;
const BLOCKLIST_ENTRY = 12;
/** The segment core.img's second sector loads at (0x8000 + 512 bytes), in 16-byte units. */
const KERNEL_SEGMENT = 0x800 + (SECTOR >> 4);
const NOP = 0x90;

/** boot.img's first 440 bytes, patched for a core.img whose first sector is `coreSector`; `diskSector0` is the disk's first sector as it was (its BPB is kept). */
export function patchBootImage(bootImg: Uint8Array, coreSector: number, diskSector0: Uint8Array = new Uint8Array(SECTOR)): Buffer {
  if (bootImg.length !== SECTOR) throw new Error(`boot.img is ${bootImg.length} bytes, not ${SECTOR}`);
  const b = Buffer.from(bootImg.subarray(0, BOOT_CODE_BYTES));
  b.set(diskSector0.subarray(BPB_START, BPB_END), BPB_START);
  b.writeBigUInt64LE(BigInt(coreSector), KERNEL_SECTOR_AT);
  b[BOOT_DRIVE_AT] = 0xff;
  b[DRIVE_CHECK_AT] = NOP;
  b[DRIVE_CHECK_AT + 1] = NOP;
  return b;
}

/** core.img padded to whole sectors, its block list naming its own sectors from `coreSector` on (they are contiguous). */
export function patchCoreImage(coreImg: Uint8Array, coreSector: number): Buffer {
  if (coreImg.length < SECTOR) throw new Error(`core.img is ${coreImg.length} bytes, less than a sector`);
  const sectors = Math.ceil(coreImg.length / SECTOR);
  if (sectors > 0xffff) throw new Error(`core.img is ${coreImg.length} bytes, too large for its block list`);
  const b = Buffer.alloc(sectors * SECTOR);
  b.set(coreImg);
  // Clear the list as it came (entries down from the first until the zero one), then write the one entry and its terminator.
  let at = SECTOR - BLOCKLIST_ENTRY;
  while (b.readUInt16LE(at + 8) !== 0) {
    b.fill(0, at, at + BLOCKLIST_ENTRY);
    at -= BLOCKLIST_ENTRY;
    if (at <= 0) throw new Error('core.img has no end to its block list (is it an i386-pc core image?)');
  }
  const first = SECTOR - BLOCKLIST_ENTRY;
  if (sectors > 1) {
    b.writeBigUInt64LE(BigInt(coreSector + 1), first);
    b.writeUInt16LE(sectors - 1, first + 8);
    b.writeUInt16LE(KERNEL_SEGMENT, first + 10);
    b.fill(0, first - BLOCKLIST_ENTRY, first);
  } else {
    b.fill(0, first, first + BLOCKLIST_ENTRY);
  }
  return b;
}
