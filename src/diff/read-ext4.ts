/**
 * An ext2/3/4 image (kiln's `ext4` output, or a partition of a disk) as a
 * listing, without mounting or extracting it: debugfs lists every directory
 * (`ls -p`, one batch per depth), stats every inode (mode, owner, time,
 * device, extended attributes, a fast symlink's target) in one batch, and
 * cats every regular file and long symlink in one more, hashed as it streams
 * (debugfs.ts). Hard links share their inode's digest. The root's
 * lost+found is the filesystem's own and left out, so that an image
 * compares equal to the tree it was made from.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { debugfsCat, debugfsSource, debugfsText } from './debugfs.ts';
import { DatabaseCopy, isDatabasePath } from './package-database.ts';
import type { DiffEntry, DiffEntryType, InputReader, ListedInput, Listing } from './types.ts';

const TYPES: Record<number, DiffEntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo' };
const ROOT_INODE = 2;

/** Is there an ext2/3/4 superblock (magic 0xEF53) at `offset` + 1024? */
export async function isExt(file: string, offset = 0): Promise<boolean> {
  const fd = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fd.read(b, 0, 2, offset + 1024 + 56);
    return bytesRead === 2 && b.readUInt16LE(0) === 0xef53;
  } finally {
    await fd.close();
  }
}

interface Found {
  path: string;
  inode: number;
  type: DiffEntryType;
  size: number;
}

/** Parses `ls -p` lines: /INODE/MODE/UID/GID/NAME/SIZE/. */
function parseLs(out: string, dir: string): Found[] {
  const found: Found[] = [];
  for (const line of out.split('\n')) {
    const m = /^\/(\d+)\/([0-7]+)\/\d+\/\d+\/(.*)\/(\d*)\/$/.exec(line);
    if (!m) continue;
    const name = m[3] as string;
    if (name === '.' || name === '..') continue;
    const path = dir === '.' ? name : `${dir}/${name}`;
    if (path === 'lost+found') continue;
    const type = TYPES[Number.parseInt(m[2] as string, 8) & 0o170000];
    if (!type) continue; // sockets
    found.push({ path, inode: Number(m[1]), type, size: Number(m[4] || 0) });
  }
  return found;
}

interface InodeStat {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  device?: string;
  fastTarget?: string;
  xattrs: string;
}

/** A value as debugfs prints it: "text" or hex bytes. */
function xattrValue(printed: string): Buffer {
  const quoted = /^"(.*)"$/s.exec(printed);
  if (quoted) return Buffer.from(quoted[1] as string, 'utf8');
  return Buffer.from(printed.replace(/\s+/g, ''), 'hex');
}

/** Parses one `stat` answer. */
export function parseStat(out: string): InodeStat {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const mtimeHex = /^\s*mtime: 0x([0-9a-f]+)/m.exec(out)?.[1];
  const device = /Device major\/minor number: ([0-9a-f]+):([0-9a-f]+)/.exec(out);
  const fast = /^Fast link dest: "(.*)"$/m.exec(out);
  const xattrs: string[] = [];
  const block = /^Extended attributes:\n((?: {2}.*\n?)*)/m.exec(out);
  for (const line of block?.[1]?.split('\n') ?? []) {
    const m = /^ {2}(\S+) \(\d+\)(?: = (.*))?$/.exec(line);
    if (m) xattrs.push(`${m[1]}=${xattrValue((m[2] ?? '').trim()).toString('hex')}`);
  }
  return {
    mode: Number.parseInt(/Mode:\s+([0-7]+)/.exec(out)?.[1] ?? '0', 8) & 0o7777,
    uid: num(/User:\s+(\d+)/),
    gid: num(/Group:\s+(\d+)/),
    mtime: mtimeHex ? Number.parseInt(mtimeHex, 16) : 0,
    size: num(/Size: (\d+)/),
    device: device ? `${Number.parseInt(device[1] as string, 16)},${Number.parseInt(device[2] as string, 16)}` : undefined,
    fastTarget: fast?.[1],
    xattrs: xattrs.sort().join('\n'),
  };
}

/** Lists the ext filesystem at `offset` bytes into `file`; database files are copied into `db`. */
export async function listExt(file: string, offset: number, db: DatabaseCopy): Promise<{ listing: Listing; inodes: Map<string, number> }> {
  const source = debugfsSource(file, offset);
  const found: Found[] = [];
  let level: Found[] = [{ path: '.', inode: ROOT_INODE, type: 'dir', size: 0 }];
  const root = level[0] as Found;
  while (level.length) {
    const answers = await debugfsText(source, level.map((d) => `ls -p <${d.inode}>`));
    const next: Found[] = [];
    level.forEach((d, i) => {
      for (const f of parseLs(answers[i] as string, d.path)) {
        found.push(f);
        if (f.type === 'dir') next.push(f);
      }
    });
    level = next;
  }
  const entries = [root, ...found];
  const unique = [...new Set(entries.map((e) => e.inode))];
  const stats = new Map<number, InodeStat>();
  const answers = await debugfsText(source, unique.map((i) => `stat <${i}>`));
  unique.forEach((ino, i) => stats.set(ino, parseStat(answers[i] as string)));
  const listing: Listing = new Map();
  const inodes = new Map<string, number>();
  for (const e of entries) {
    const st = stats.get(e.inode) as InodeStat;
    const entry: DiffEntry = { path: e.path, type: e.type, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime, size: e.type === 'file' ? st.size : 0, xattrs: st.xattrs };
    if (e.type === 'char' || e.type === 'block') entry.device = st.device;
    if (e.type === 'symlink' && st.fastTarget !== undefined) entry.target = st.fastTarget;
    listing.set(e.path, entry);
    inodes.set(e.path, e.inode);
  }
  // One cat per inode with content: regular files, and symlinks too long to live in the inode.
  const byInode = new Map<number, DiffEntry[]>();
  for (const entry of listing.values()) {
    if (entry.type !== 'file' && !(entry.type === 'symlink' && entry.target === undefined)) continue;
    const ino = inodes.get(entry.path) as number;
    byInode.set(ino, [...(byInode.get(ino) ?? []), entry]);
  }
  const cats = [...byInode].map(([inode, es]) => ({ inode, size: (stats.get(inode) as InodeStat).size, entries: es }));
  let hash = createHash('sha256');
  let kept: Buffer[] | undefined;
  await debugfsCat(source, cats, (i, piece) => {
    const c = cats[i]!;
    const wants = c.entries.some((e) => e.type === 'symlink' || isDatabasePath(e.path));
    if (piece) {
      hash.update(piece);
      if (wants) (kept ??= []).push(Buffer.from(piece));
      return;
    }
    const digest = hash.digest('hex');
    const data = kept ? Buffer.concat(kept) : Buffer.alloc(0);
    for (const e of c.entries) {
      if (e.type === 'symlink') e.target = data.toString('utf8');
      else e.sha256 = digest;
      if (e.type === 'file' && isDatabasePath(e.path)) db.add(e.path, data);
    }
    hash = createHash('sha256');
    kept = undefined;
  });
  return { listing, inodes };
}

/** The contents of some regular files of a listed ext filesystem (at most `maxBytes` each). */
export async function readExtFiles(file: string, offset: number, listing: Listing, inodes: Map<string, number>, wanted: ReadonlySet<string>, maxBytes: number): Promise<Map<string, Buffer>> {
  const paths = [...wanted].filter((p) => listing.get(p)?.type === 'file' && (listing.get(p) as DiffEntry).size <= maxBytes && inodes.has(p));
  const out = new Map<string, Buffer>();
  let pieces: Buffer[] = [];
  await debugfsCat(debugfsSource(file, offset), paths.map((p) => ({ inode: inodes.get(p) as number, size: (listing.get(p) as DiffEntry).size })), (i, piece) => {
    if (piece) return void pieces.push(Buffer.from(piece));
    out.set(paths[i] as string, Buffer.concat(pieces));
    pieces = [];
  });
  return out;
}

/** An ext image at `offset` of `file` as a ListedInput (a disk's partition, or the whole file). */
export async function listExtInput(file: string, offset: number): Promise<ListedInput> {
  const db = new DatabaseCopy();
  try {
    const { listing, inodes } = await listExt(file, offset, db);
    return { listing, databaseRoot: db.root, readFiles: (wanted, maxBytes) => readExtFiles(file, offset, listing, inodes, wanted, maxBytes), dispose: () => db.dispose() };
  } catch (err) {
    await db.dispose();
    throw err;
  }
}

export const ext4Reader: InputReader = {
  name: 'ext4 image',
  recognises: async (path, _head, isDirectory) => !isDirectory && (await isExt(path)),
  list: (file) => listExtInput(file, 0),
};
