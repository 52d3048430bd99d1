/**
 * The newc ("070701", SVR4 without checksums) cpio encoding, as the Linux
 * kernel's initramfs unpacker and GNU cpio read it: a 110-byte ASCII header
 * of thirteen 8-digit hexadecimal fields, the NUL-terminated name padded so
 * that header and name end on a 4-byte boundary, the data padded to 4 bytes,
 * and a TRAILER!!! entry. The digits are upper case and the trailer's fields
 * are GNU cpio's (nlink 1, the rest 0), so an archive of the same tree is the
 * same bytes as `cpio -o -H newc --reproducible` writes.
 */

export const NEWC_MAGIC = '070701';
export const NEWC_HEADER_BYTES = 110;
/** The largest value a header field holds (file sizes, ids, times). */
export const NEWC_MAX = 0xffffffff;
export const NEWC_TRAILER = 'TRAILER!!!';
/** GNU cpio pads the whole archive to its block size, 512 bytes. */
export const CPIO_BLOCK = 512;

export interface NewcEntry {
  /** The name in the archive: "." for the root, "dir/file" for the rest. */
  name: string;
  ino: number;
  /** The whole st_mode: the file type bits and the permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  /** Bytes of data that follow (a symlink's target; 0 for all but one name of a hard-linked file). */
  size: number;
  devmajor?: number;
  devminor?: number;
  rdevmajor?: number;
  rdevminor?: number;
}

/** The padding after `length` bytes to the next multiple of `unit`. */
export function padding(length: number, unit = 4): number {
  return (unit - (length % unit)) % unit;
}

function field(value: number, what: string, name: string): string {
  if (!Number.isInteger(value) || value < 0 || value > NEWC_MAX) throw new RangeError(`cpio entry ${name}: ${what} ${value} does not fit a newc header`);
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/** The header, the name, its NUL and the padding to 4 bytes. */
export function newcHeader(e: NewcEntry): Buffer {
  const name = Buffer.from(e.name, 'utf8');
  const fields = [
    NEWC_MAGIC,
    field(e.ino, 'inode', e.name),
    field(e.mode, 'mode', e.name),
    field(e.uid, 'uid', e.name),
    field(e.gid, 'gid', e.name),
    field(e.nlink, 'link count', e.name),
    field(e.mtime, 'mtime', e.name),
    field(e.size, 'size', e.name),
    field(e.devmajor ?? 0, 'device major', e.name),
    field(e.devminor ?? 0, 'device minor', e.name),
    field(e.rdevmajor ?? 0, 'rdev major', e.name),
    field(e.rdevminor ?? 0, 'rdev minor', e.name),
    field(name.length + 1, 'name size', e.name),
    '00000000', // check: newc has no checksum
  ].join('');
  const length = NEWC_HEADER_BYTES + name.length + 1;
  const out = Buffer.alloc(length + padding(length));
  out.write(fields, 0, 'latin1');
  name.copy(out, NEWC_HEADER_BYTES);
  return out;
}

/** The TRAILER!!! entry that ends the archive (its own padding included, not the block padding). */
export function newcTrailer(): Buffer {
  return newcHeader({ name: NEWC_TRAILER, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, size: 0 });
}
