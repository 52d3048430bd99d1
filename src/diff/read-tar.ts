/**
 * A tar (plain, .gz, .xz or .zst) as a listing, streamed with kiln's own tar
 * reader: each member's content is hashed as it passes and dropped, so an
 * archive of any size costs the listing's memory only. The package database's
 * few files are copied aside for the package readers; the contents wanted for
 * text diffs are read by a second pass over only those paths.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { decompress, readTar, type Compression } from '../archive/index.ts';
import { DatabaseCopy, isDatabasePath } from './package-database.ts';
import type { DiffEntry, InputReader, ListedInput, Listing } from './types.ts';
import { xattrLines } from './xattrs.ts';

/** The compression of a file from its first bytes (magic numbers, not its name). */
export function compressionOf(head: Buffer): Compression | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gz';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zst';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'none';
  return undefined;
}

/** Opens the plain tar stream of `file` (whose compression is `kind`). */
export function openTar(file: string, kind: Compression): Readable {
  return decompress(createReadStream(file, { highWaterMark: 256 << 10 }), kind);
}

/** Lists a plain tar stream; the database files go to `db`. */
export async function listTarStream(stream: Readable, db: DatabaseCopy): Promise<Listing> {
  const listing: Listing = new Map();
  for await (const { entry, body } of readTar(stream)) {
    const path = entry.path;
    const base: Omit<DiffEntry, 'type'> = {
      path,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: Math.floor(entry.mtime),
      size: entry.size,
      xattrs: xattrLines(entry.xattrs),
    };
    if (entry.type === 'hardlink') {
      const to = listing.get(entry.linkpath ?? '');
      listing.set(path, { ...base, type: 'file', size: to?.size ?? 0, sha256: to?.sha256 });
      continue;
    }
    const item: DiffEntry = { ...base, type: entry.type };
    if (entry.type === 'symlink') item.target = entry.linkpath;
    if (entry.type === 'char' || entry.type === 'block') item.device = `${entry.devmajor ?? 0},${entry.devminor ?? 0}`;
    if (entry.type === 'file') {
      if (isDatabasePath(path)) {
        const data = await body.buffer();
        db.add(path, data);
        item.sha256 = createHash('sha256').update(data).digest('hex');
      } else {
        const hash = createHash('sha256');
        for await (const chunk of body) hash.update(chunk);
        item.sha256 = hash.digest('hex');
      }
    }
    listing.set(path, item);
  }
  return listing;
}

/** Reads the wanted members of a plain tar stream (hard links resolved through the listing). */
export async function readTarFiles(stream: Readable, listing: Listing, paths: ReadonlySet<string>, maxBytes: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const byDigest = new Map<string, string[]>();
  for (const p of paths) {
    const d = listing.get(p)?.sha256;
    if (d) byDigest.set(d, [...(byDigest.get(d) ?? []), p]);
  }
  for await (const { entry, body } of readTar(stream)) {
    if (entry.type !== 'file' || entry.size > maxBytes) continue;
    const digest = listing.get(entry.path)?.sha256;
    const wanted = digest ? byDigest.get(digest) : undefined;
    if (!wanted || wanted.every((p) => out.has(p))) continue;
    const data = Buffer.from(await body.buffer());
    for (const p of wanted) out.set(p, data);
  }
  return out;
}

export const tarReader: InputReader = {
  name: 'tar',
  recognises: (_path, head, isDirectory) => !isDirectory && compressionOf(head) !== undefined,
  list: async (file: string) => listTarFile(file, compressionOf(await readHead(file)) as Compression),
};

export async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A tar file's listing (compressed as `kind`), its package database copied aside, and its files read again on demand. */
export async function listTarFile(file: string, kind: Compression): Promise<ListedInput> {
  const db = new DatabaseCopy();
  try {
    const listing = await listTarStream(openTar(file, kind), db);
    return {
      listing,
      databaseRoot: db.root,
      readFiles: (paths, maxBytes) => readTarFiles(openTar(file, kind), listing, paths, maxBytes),
      dispose: () => db.dispose(),
    };
  } catch (err) {
    await db.dispose();
    throw err;
  }
}
