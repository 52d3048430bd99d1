/**
 * An erofs image (kiln's `erofs` output, uncompressed, or a partition of a
 * disk) as a listing, read natively in place: erofs-utils 1.5's dump.erofs
 * shows one inode per process and neither symlink targets, xattr values nor
 * contents, and fsck.erofs --extract cannot keep owners without root. The
 * layout is the kernel's (erofs_fs.h): the superblock at 1024, inodes of 32
 * or 64 bytes at `meta_blkaddr` by nid (a compact inode's time is the
 * superblock's build time), their inline and shared xattrs, and data flat
 * in blocks with an optional inline tail. Directories are walked from the
 * root nid; each regular file is hashed as it streams (image-file.ts), a
 * hard link shares its inode's digest. Compressed and chunk-based files are refused clearly.
 */
import { BuildError } from '../util/errors.ts';
import { ImageFile, inPlaceInput, type InPlaceListing, type Range } from './image-file.ts';
import type { DiffEntry, DiffEntryType, InputReader, ListedInput, Listing } from './types.ts';

const MAGIC = 0xe0f5e1e2;
const TYPES: Record<number, DiffEntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo' };
const XATTR_PREFIX: Record<number, string> = { 1: 'user.', 2: 'system.posix_acl_access', 3: 'system.posix_acl_default', 4: 'trusted.', 5: 'lustre.', 6: 'security.' };
const LAYOUT_PLAIN = 0;
const LAYOUT_INLINE = 2;

/** Is there an erofs superblock at `offset` + 1024? */
export async function isErofs(file: string, offset = 0): Promise<boolean> {
  const img = await ImageFile.open(file, offset);
  try {
    return (await img.bytes(1024, 4).catch(() => Buffer.alloc(4))).readUInt32LE(0) === MAGIC;
  } finally {
    await img.close();
  }
}

interface Super {
  blockSize: number;
  rootNid: number;
  buildTime: number;
  metaAt: number;
  xattrAt: number;
}

interface Inode {
  nid: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  rdev: number;
  xattrs: string;
  /** Where the content lies: byte ranges into the filesystem, in order. */
  ranges: Range[];
}

async function readSuper(img: ImageFile): Promise<Super> {
  const sb = await img.bytes(1024, 128);
  if (sb.readUInt32LE(0) !== MAGIC) throw new BuildError(`${img.name}: no erofs superblock at offset ${img.base}`);
  const blockSize = 2 ** (sb[12] as number);
  return { blockSize, rootNid: sb.readUInt16LE(14), buildTime: Number(sb.readBigUInt64LE(24)), metaAt: sb.readUInt32LE(40) * blockSize, xattrAt: sb.readUInt32LE(44) * blockSize };
}

/** One xattr entry at `at`: its `name=hex` line and the bytes it takes (padded to 4). */
async function xattrEntry(img: ImageFile, at: number): Promise<[string, number]> {
  const h = await img.bytes(at, 4);
  const nameLength = h[0] as number;
  const valueSize = h.readUInt16LE(2);
  const body = await img.bytes(at + 4, nameLength + valueSize);
  const name = (XATTR_PREFIX[h[1] as number] ?? '') + body.toString('utf8', 0, nameLength);
  return [`${name}=${body.subarray(nameLength).toString('hex')}`, (4 + nameLength + valueSize + 3) & ~3];
}

/** The inline xattr area at `at` (`count` 4-byte slots): shared ones by id, then the inline entries. */
async function readXattrs(img: ImageFile, sb: Super, at: number, count: number): Promise<string> {
  if (count === 0) return '';
  const size = 12 + (count - 1) * 4;
  const head = await img.bytes(at, 12);
  const shared = head[4] as number;
  const lines: string[] = [];
  for (let i = 0; i < shared; i++) lines.push((await xattrEntry(img, sb.xattrAt + (await img.bytes(at + 12 + i * 4, 4)).readUInt32LE(0) * 4))[0]);
  for (let p = at + 12 + shared * 4; p + 4 <= at + size; ) {
    const [line, used] = await xattrEntry(img, p);
    lines.push(line);
    p += used;
  }
  return lines.sort().join('\n');
}

async function readInode(img: ImageFile, sb: Super, nid: number): Promise<Inode> {
  const at = sb.metaAt + nid * 32;
  const compact = await img.bytes(at, 32);
  const format = compact.readUInt16LE(0);
  const extended = (format & 1) === 1;
  const layout = (format >> 1) & 0x7;
  const raw = extended ? Buffer.concat([compact, await img.bytes(at + 32, 32)]) : compact;
  const xattrCount = raw.readUInt16LE(2);
  const mode = raw.readUInt16LE(4);
  const size = extended ? Number(raw.readBigUInt64LE(8)) : raw.readUInt32LE(8);
  const iu = raw.readUInt32LE(16);
  const inodeSize = extended ? 64 : 32;
  const xattrSize = xattrCount ? 12 + (xattrCount - 1) * 4 : 0;
  const inode: Inode = {
    nid,
    mode,
    uid: extended ? raw.readUInt32LE(24) : raw.readUInt16LE(24),
    gid: extended ? raw.readUInt32LE(28) : raw.readUInt16LE(26),
    mtime: extended ? Number(raw.readBigUInt64LE(32)) : sb.buildTime,
    size,
    rdev: iu,
    xattrs: await readXattrs(img, sb, at + inodeSize, xattrCount),
    ranges: [],
  };
  const type = TYPES[mode & 0o170000];
  if (type !== 'file' && type !== 'dir' && type !== 'symlink') return inode;
  if (layout !== LAYOUT_PLAIN && layout !== LAYOUT_INLINE) {
    throw new BuildError(`${img.name}: inode ${nid} is compressed or chunk-based (erofs layout ${layout}), which kiln diff does not read`, 'compare uncompressed erofs images (kiln writes them so)');
  }
  const blocks = Math.ceil(size / sb.blockSize);
  const head = layout === LAYOUT_INLINE && blocks > 0 ? (blocks - 1) * sb.blockSize : size;
  if (head > 0) inode.ranges.push({ at: iu * sb.blockSize, length: head });
  if (size > head) inode.ranges.push({ at: at + inodeSize + xattrSize, length: size - head });
  return inode;
}

/** A directory's entries (`.` and `..` left out): name and nid, from its blocks of dirents. */
async function readDirectory(img: ImageFile, sb: Super, dir: Inode): Promise<{ name: string; nid: number }[]> {
  const data = await img.read(dir.ranges);
  const out: { name: string; nid: number }[] = [];
  for (let block = 0; block < data.length; block += sb.blockSize) {
    const b = data.subarray(block, Math.min(data.length, block + sb.blockSize));
    const count = b.readUInt16LE(8) / 12;
    for (let i = 0; i < count; i++) {
      const start = b.readUInt16LE(i * 12 + 8);
      const end = i + 1 < count ? b.readUInt16LE((i + 1) * 12 + 8) : b.length;
      let name = b.subarray(start, end);
      if (i + 1 === count) name = name.subarray(0, name.indexOf(0) < 0 ? name.length : name.indexOf(0));
      const text = name.toString('utf8');
      if (text !== '.' && text !== '..') out.push({ name: text, nid: Number(b.readBigUInt64LE(i * 12)) });
    }
  }
  return out;
}

/** Linux's new_decode_dev. */
const device = (rdev: number) => `${(rdev & 0xfff00) >>> 8},${(rdev & 0xff) | ((rdev >>> 12) & 0xfff00)}`;

/** Lists the erofs in `img`: every path, and where each regular file's bytes lie. */
async function listErofs(img: ImageFile): Promise<InPlaceListing> {
  const sb = await readSuper(img);
  const listing: Listing = new Map();
  const contents = new Map<string, readonly Range[]>();
  const byNid = new Map<number, Inode>();
  const inodeOf = async (nid: number) => byNid.get(nid) ?? (byNid.set(nid, await readInode(img, sb, nid)).get(nid) as Inode);
  const walk: { path: string; nid: number }[] = [{ path: '.', nid: sb.rootNid }];
  for (let i = 0; i < walk.length; i++) {
    const { path, nid } = walk[i] as { path: string; nid: number };
    const inode = await inodeOf(nid);
    const type = TYPES[inode.mode & 0o170000];
    if (!type) continue; // sockets
    const entry: DiffEntry = { path, type, mode: inode.mode & 0o7777, uid: inode.uid, gid: inode.gid, mtime: inode.mtime, size: type === 'file' ? inode.size : 0, xattrs: inode.xattrs };
    if (type === 'symlink') entry.target = (await img.read(inode.ranges)).toString('utf8');
    if (type === 'char' || type === 'block') entry.device = device(inode.rdev);
    if (type === 'file') contents.set(path, inode.ranges);
    listing.set(path, entry);
    if (type === 'dir') for (const d of await readDirectory(img, sb, inode)) walk.push({ path: path === '.' ? d.name : `${path}/${d.name}`, nid: d.nid });
  }
  return { listing, contents };
}

/** An erofs image at `offset` of `file` as a ListedInput (a disk's partition, or the whole file). */
export const listErofsInput = (file: string, offset: number): Promise<ListedInput> => inPlaceInput(file, offset, listErofs);

export const erofsReader: InputReader = {
  name: 'erofs image',
  recognises: async (path, _head, isDirectory) => !isDirectory && (await isErofs(path)),
  list: (file) => listErofsInput(file, 0),
};
