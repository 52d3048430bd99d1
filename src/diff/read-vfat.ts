/**
 * A FAT12/16/32 filesystem (kiln's `vfat` output: an ESP, a Raspberry Pi
 * boot partition; or a disk's partition) as a listing, read natively in
 * place: mtools' `mdir` prints times to the minute only and each file's
 * content would cost an `mcopy`. The boot sector gives the layout; the
 * first FAT is read whole (4 bytes a cluster: 1 MiB for a 1 GiB FAT32), the
 * directories are walked with their long names (checksums checked, else the
 * 8.3 name with its lower-case flags), and each file's clusters stream
 * through the hash. Times are the entries' write times, taken as UTC (kiln
 * writes them so) at FAT's 2-second grain. FAT stores no owner, mode or
 * extended attributes, and the root directory no time: those are marked
 * unread and not compared.
 */
import { BuildError } from '../util/errors.ts';
import { ImageFile, inPlaceInput, type InPlaceListing, type Range } from './image-file.ts';
import type { DiffEntry, InputReader, ListedInput, Listing, Unread } from './types.ts';

const UNREAD: readonly Unread[] = ['owner', 'mode', 'xattrs'];
const ATTR_LFN = 0x0f;
const ATTR_VOLUME = 0x08;
const ATTR_DIR = 0x10;

/** A FAT boot sector: the 0xAA55 signature and a FAT type string in the FAT12/16 or FAT32 place. */
export function isFatBootSector(b: Buffer): boolean {
  return b.length >= 512 && b.readUInt16LE(510) === 0xaa55 && (b.toString('latin1', 54, 57) === 'FAT' || b.toString('latin1', 82, 85) === 'FAT');
}

export async function isVfat(file: string, offset = 0): Promise<boolean> {
  const img = await ImageFile.open(file, offset);
  try {
    return isFatBootSector(await img.bytes(0, 512).catch(() => Buffer.alloc(0)));
  } finally {
    await img.close();
  }
}

/** The volume id as fstab writes it (`UUID=1234-ABCD`), lower-case. */
export async function vfatUuid(file: string, offset: number): Promise<string> {
  const img = await ImageFile.open(file, offset);
  try {
    const b = await img.bytes(0, 512);
    const id = b.readUInt32LE(b.toString('latin1', 82, 85) === 'FAT' ? 67 : 39).toString(16).padStart(8, '0');
    return `${id.slice(0, 4)}-${id.slice(4)}`;
  } finally {
    await img.close();
  }
}

interface Layout {
  clusterBytes: number;
  dataAt: number;
  fat: Buffer;
  bits: 12 | 16 | 32;
  /** FAT12/16: the fixed root directory region; FAT32: undefined (the root is a cluster chain). */
  root?: Range;
  rootCluster: number;
}

async function readLayout(img: ImageFile): Promise<Layout> {
  const b = await img.bytes(0, 512);
  if (!isFatBootSector(b)) throw new BuildError(`${img.name}: no FAT boot sector at offset ${img.base}`);
  const sector = b.readUInt16LE(11);
  const perCluster = b[13] as number;
  const reserved = b.readUInt16LE(14);
  const fats = b[16] as number;
  const rootEntries = b.readUInt16LE(17);
  const total = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  const rootSectors = Math.ceil((rootEntries * 32) / sector);
  const dataSector = reserved + fats * fatSectors + rootSectors;
  const clusters = Math.floor((total - dataSector) / perCluster);
  const bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
  return {
    clusterBytes: sector * perCluster,
    dataAt: dataSector * sector,
    fat: await img.bytes(reserved * sector, fatSectors * sector),
    bits,
    root: bits === 32 ? undefined : { at: (reserved + fats * fatSectors) * sector, length: rootEntries * 32 },
    rootCluster: bits === 32 ? b.readUInt32LE(44) : 0,
  };
}

function nextCluster(l: Layout, c: number): number | undefined {
  let v: number;
  if (l.bits === 12) {
    const w = l.fat.readUInt16LE(c + (c >> 1));
    v = c & 1 ? w >> 4 : w & 0xfff;
    return v >= 0xff7 ? undefined : v;
  }
  if (l.bits === 16) {
    v = l.fat.readUInt16LE(c * 2);
    return v >= 0xfff7 ? undefined : v;
  }
  v = l.fat.readUInt32LE(c * 4) & 0x0fffffff;
  return v >= 0x0ffffff7 ? undefined : v;
}

/** The byte ranges of a cluster chain, adjacent clusters merged, cut to `size` bytes (undefined: the whole chain). */
function chainRanges(l: Layout, first: number, size: number | undefined, name: string): Range[] {
  const ranges: Range[] = [];
  let left = size ?? Number.POSITIVE_INFINITY;
  const seen = new Set<number>();
  for (let c: number | undefined = first; c !== undefined && c >= 2 && left > 0; c = nextCluster(l, c)) {
    if (seen.has(c)) throw new BuildError(`${name}: a FAT cluster chain loops at cluster ${c}`);
    seen.add(c);
    const at = l.dataAt + (c - 2) * l.clusterBytes;
    const length = Math.min(left, l.clusterBytes);
    const last = ranges[ranges.length - 1];
    if (last && last.at + last.length === at) last.length += length;
    else ranges.push({ at, length });
    left -= length;
  }
  if (size !== undefined && left > 0) throw new BuildError(`${name}: a FAT cluster chain is ${left} bytes short of its file's size`);
  return ranges;
}

function shortName(raw: Buffer, caseFlags: number): string {
  const bytes = Buffer.from(raw);
  if (bytes[0] === 0x05) bytes[0] = 0xe5;
  let base = bytes.toString('latin1', 0, 8).trimEnd();
  let ext = bytes.toString('latin1', 8, 11).trimEnd();
  if (caseFlags & 0x08) base = base.toLowerCase();
  if (caseFlags & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

function checksum(raw: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + (raw[i] as number)) & 0xff;
  return sum;
}

/** FAT's local date and time fields, as UTC seconds. */
function fatTime(date: number, time: number): number {
  return Date.UTC(1980 + (date >> 9), ((date >> 5) & 0xf) - 1, date & 0x1f, time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2) / 1000;
}

interface Found {
  name: string;
  dir: boolean;
  cluster: number;
  size: number;
  mtime: number;
}

/** The entries of one directory's bytes (`.`, `..`, the volume label and deleted ones left out). */
function parseDirectory(data: Buffer): Found[] {
  const out: Found[] = [];
  let long: string[] = [];
  let longSum = -1;
  for (let at = 0; at + 32 <= data.length; at += 32) {
    const e = data.subarray(at, at + 32);
    if (e[0] === 0x00) break;
    if (e[0] === 0xe5) {
      long = [];
      continue;
    }
    const attr = e[11] as number;
    if (attr === ATTR_LFN) {
      const ord = e[0] as number;
      if (ord & 0x40) long = [];
      const units = Buffer.concat([e.subarray(1, 11), e.subarray(14, 26), e.subarray(28, 32)]);
      let piece = '';
      for (let i = 0; i < units.length; i += 2) {
        const u = units.readUInt16LE(i);
        if (u === 0 || u === 0xffff) break;
        piece += String.fromCharCode(u);
      }
      long[(ord & 0x1f) - 1] = piece;
      longSum = e[13] as number;
      continue;
    }
    const raw = e.subarray(0, 11);
    const name = long.length && longSum === checksum(raw) ? long.join('') : shortName(raw, e[12] as number);
    long = [];
    if (attr & ATTR_VOLUME || name === '.' || name === '..') continue;
    out.push({ name, dir: (attr & ATTR_DIR) !== 0, cluster: (e.readUInt16LE(20) << 16) | e.readUInt16LE(26), size: e.readUInt32LE(28), mtime: fatTime(e.readUInt16LE(24), e.readUInt16LE(22)) });
  }
  return out;
}

/** Lists the FAT filesystem in `img`: every path, and where each file's bytes lie. */
async function listVfat(img: ImageFile): Promise<InPlaceListing> {
  const l = await readLayout(img);
  const listing: Listing = new Map();
  const contents = new Map<string, readonly Range[]>();
  const base = { uid: 0, gid: 0, mode: 0, xattrs: '', unread: UNREAD };
  listing.set('.', { ...base, path: '.', type: 'dir', mtime: 0, size: 0, unread: [...UNREAD, 'time'] });
  const dirs: { path: string; ranges: Range[] }[] = [{ path: '.', ranges: l.root ? [l.root] : chainRanges(l, l.rootCluster, undefined, img.name) }];
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i] as (typeof dirs)[number];
    for (const f of parseDirectory(await img.read(d.ranges))) {
      const path = d.path === '.' ? f.name : `${d.path}/${f.name}`;
      const entry: DiffEntry = { ...base, path, type: f.dir ? 'dir' : 'file', mtime: f.mtime, size: f.dir ? 0 : f.size };
      listing.set(path, entry);
      if (f.dir) dirs.push({ path, ranges: chainRanges(l, f.cluster, undefined, img.name) });
      else contents.set(path, f.size ? chainRanges(l, f.cluster, f.size, img.name) : []);
    }
  }
  return { listing, contents };
}

/** A FAT filesystem at `offset` of `file` as a ListedInput (a disk's partition, or the whole file). */
export const listVfatInput = (file: string, offset: number): Promise<ListedInput> => inPlaceInput(file, offset, listVfat);

export const vfatReader: InputReader = {
  name: 'vfat image',
  recognises: (_path, head, isDirectory) => !isDirectory && isFatBootSector(head),
  list: (file) => listVfatInput(file, 0),
};
