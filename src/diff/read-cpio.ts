/**
 * A newc cpio archive (plain, .gz, .xz or .zst: kiln's `cpio` outputs, an
 * initramfs) as a listing, streamed: each member's data is hashed as it
 * passes. The names of a hard-linked file share the digest of the one name
 * that carries the data. The package database's files are copied aside.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ArchiveError, decompress, type Compression } from '../archive/index.ts';
import { DatabaseCopy, isDatabasePath } from './package-database.ts';
import { openTar, readHead, compressionOf } from './read-tar.ts';
import type { DiffEntry, DiffEntryType, InputReader, ListedInput, Listing } from './types.ts';

const MAGIC = '070701';
const HEADER = 110;
const TRAILER = 'TRAILER!!!';

/** Exact reads from a stream, keeping only what is not yet handed out. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private readonly it: AsyncIterator<Buffer>;
  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  private async fill(n: number): Promise<void> {
    while (this.have < n) {
      const r = await this.it.next();
      if (r.done) throw new ArchiveError('truncated cpio archive');
      this.chunks.push(r.value);
      this.have += r.value.length;
    }
  }
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return all.subarray(0, n);
  }
  /** Passes `n` bytes to `each` in the pieces they came in. */
  async stream(n: number, each: (b: Buffer) => void): Promise<void> {
    while (n > 0) {
      if (this.have === 0) await this.fill(1);
      const first = this.chunks.shift() as Buffer;
      const take = Math.min(n, first.length);
      each(first.subarray(0, take));
      if (take < first.length) this.chunks.unshift(first.subarray(take));
      this.have -= take;
      n -= take;
    }
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

const TYPES: Record<number, DiffEntryType> = { 0o100000: 'file', 0o040000: 'dir', 0o120000: 'symlink', 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo' };
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** Is `head` the start of a newc archive (after decompression)? */
export const isNewc = (head: Buffer) => head.length >= 6 && head.toString('latin1', 0, 6) === MAGIC;

/** Lists a plain newc stream; the database files go to `db`, and the data of the paths `keep` asks for to `kept`. */
export async function listCpioStream(stream: Readable, db: DatabaseCopy, keep?: { wanted: ReadonlySet<string>; maxBytes: number; kept: Map<string, Buffer> }): Promise<Listing> {
  const listing: Listing = new Map();
  const inodes = new Map<string, string[]>();
  const src = new Reader(stream);
  try {
    for (;;) {
      const h = (await src.read(HEADER)).toString('latin1');
      if (h.slice(0, 6) !== MAGIC) throw new ArchiveError(`not a newc cpio header: ${JSON.stringify(h.slice(0, 6))}`);
      const f = (i: number) => Number.parseInt(h.slice(6 + 8 * i, 14 + 8 * i), 16);
      const [ino, mode, uid, gid, nlink, mtime, size, devmajor, devminor, rmajor, rminor, namesize] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map(f) as number[];
      const nameBytes = await src.read((namesize as number) + pad4(HEADER + (namesize as number)));
      const rawName = nameBytes.subarray(0, (namesize as number) - 1).toString('utf8');
      if (rawName === TRAILER) break;
      const path = rawName === '.' || rawName === '' ? '.' : rawName.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
      const type = TYPES[(mode as number) & 0o170000];
      if (!type) throw new ArchiveError(`cpio entry ${rawName}: unknown file type ${((mode as number) & 0o170000).toString(8)}`);
      const entry: DiffEntry = { path, type, mode: (mode as number) & 0o7777, uid: uid as number, gid: gid as number, mtime: mtime as number, size: type === 'file' ? (size as number) : 0, xattrs: '' };
      const dataSize = size as number;
      if (type === 'symlink') entry.target = (await src.read(dataSize)).toString('utf8');
      else if (type === 'file' && (isDatabasePath(path) || (keep?.wanted.has(path) && dataSize <= keep.maxBytes))) {
        const data = Buffer.from(await src.read(dataSize));
        if (isDatabasePath(path)) db.add(path, data);
        if (keep?.wanted.has(path)) keep.kept.set(path, data);
        entry.sha256 = createHash('sha256').update(data).digest('hex');
      } else if (type === 'file') {
        const hash = createHash('sha256');
        await src.stream(dataSize, (b) => hash.update(b));
        entry.sha256 = hash.digest('hex');
      } else await src.stream(dataSize, () => {});
      await src.read(pad4(dataSize));
      if (type === 'char' || type === 'block') entry.device = `${rmajor},${rminor}`;
      if (type === 'file' && (nlink as number) > 1) {
        const key = `${devmajor}:${devminor}:${ino}`;
        inodes.set(key, [...(inodes.get(key) ?? []), path]);
      }
      listing.set(path, entry);
    }
  } finally {
    await src.close();
  }
  for (const names of inodes.values()) {
    const carrier = names.map((n) => listing.get(n) as DiffEntry).find((e) => e.size > 0);
    if (!carrier) continue;
    for (const n of names) Object.assign(listing.get(n) as DiffEntry, { size: carrier.size, sha256: carrier.sha256 });
    const data = keep?.kept.get(carrier.path);
    if (data) for (const n of names) if (keep?.wanted.has(n)) keep.kept.set(n, data);
  }
  return listing;
}

/** The compression of a cpio file, when it is one: its first bytes, decompressed where they must be. */
export async function cpioCompression(file: string, head: Buffer): Promise<Compression | undefined> {
  if (isNewc(head)) return 'none';
  const kind = compressionOf(head);
  if (!kind || kind === 'none') return undefined;
  const stream = openTar(file, kind);
  try {
    for await (const chunk of stream) return isNewc(chunk as Buffer) ? kind : undefined;
  } finally {
    stream.destroy();
  }
  return undefined;
}

export const cpioReader: InputReader = {
  name: 'cpio',
  recognises: async (path, head, isDirectory) => !isDirectory && (await cpioCompression(path, head)) !== undefined,
  async list(file: string): Promise<ListedInput> {
    const kind = (await cpioCompression(file, await readHead(file))) as Compression;
    const db = new DatabaseCopy();
    const open = () => decompress(openTar(file, 'none'), kind);
    try {
      const listing = await listCpioStream(open(), db);
      return {
        listing,
        databaseRoot: db.root,
        readFiles: async (wanted, maxBytes) => {
          const kept = new Map<string, Buffer>();
          const scratch = new DatabaseCopy();
          try {
            await listCpioStream(open(), scratch, { wanted, maxBytes, kept });
          } finally {
            await scratch.dispose();
          }
          return kept;
        },
        dispose: () => db.dispose(),
      };
    } catch (err) {
      await db.dispose();
      throw err;
    }
  },
};
