/**
 * A directory tree written as a deterministic newc cpio archive (for an
 * initramfs or netboot): the paths of the tree walk (sorted, "." first, a
 * directory before its contents), inode numbers given in archive order
 * from 0 (not the tree's), device 0, times clamped, a directory's link
 * count 2 + its subdirectories (whatever the tree's filesystem says).
 *
 * Hard links: every name of a file has the same inode number and the count
 * of its names in the archive, and the data goes with the last name, the
 * others having size 0. That is what GNU cpio writes and what the kernel's
 * gen_init_cpio writes; the kernel's unpacker links each further name to the
 * first and writes whatever data comes, and GNU cpio defers names without
 * data until the one with data, so both rebuild one inode with its data.
 * Data on the last name needs to know which name is last: the tree is
 * listed (lstat only) before anything is written, which also lets a file
 * newc cannot hold stop the build before a byte is written.
 */
import { createReadStream, readlinkSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../util/errors.ts';
import { CPIO_BLOCK, NEWC_MAX, newcHeader, newcTrailer, padding, type NewcEntry } from './cpio-write.ts';
import { inodeKey, major, minor, readSmall, walkTree, type TreePath } from './tree-walk.ts';

export interface TreeCpioOptions {
  /** Times newer than this (seconds) are written as this. */
  mtimeClamp?: number;
}

export interface TreeCpioResult {
  /** Entries written, the trailer not counted. */
  entries: number;
}

/** Files up to this size are read whole; larger ones are streamed. */
const READ_WHOLE = 1 << 20;
/** Output is written in pieces of about this size. */
const BATCH = 256 * 1024;

interface Planned {
  path: TreePath;
  header: NewcEntry;
  /** A symlink's target: its data. */
  target?: Buffer;
}

/** The tree's paths as newc entries, in archive order; refuses what newc cannot hold. */
async function planEntries(root: string, clamp: number | undefined): Promise<Planned[]> {
  const paths: TreePath[] = [];
  await walkTree(root, (p) => {
    paths.push(p);
  });
  const subdirs = new Map<string, number>();
  const names = new Map<string, number[]>();
  paths.forEach((p, i) => {
    if (p.type === 'dir' && p.rel !== '') {
      const parent = p.rel.includes('/') ? p.rel.slice(0, p.rel.lastIndexOf('/')) : '';
      subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
    }
    if (p.type !== 'dir' && p.st.nlink > 1) {
      const key = inodeKey(p.abs, p.st);
      names.set(key, [...(names.get(key) ?? []), i]);
    }
  });
  const inodes = new Map<string, number>();
  let next = 0;
  return paths.map((path, i) => {
    const { rel, st, type } = path;
    const name = rel === '' ? '.' : rel;
    const linked = type !== 'dir' && st.nlink > 1 ? inodeKey(path.abs, st) : undefined;
    const group = linked === undefined ? undefined : names.get(linked)!;
    let ino: number;
    if (linked === undefined) ino = next++;
    else ino = inodes.get(linked) ?? (inodes.set(linked, next), next++);
    const target = type === 'symlink' ? readlinkSync(path.abs, { encoding: 'buffer' }) : undefined;
    const size = type === 'file' ? st.size : (target?.length ?? 0);
    if (size > NEWC_MAX) throw new UserError(`cpio (newc) cannot hold /${rel}: it is ${size} bytes, and newc holds at most 4 GiB - 1`, 'remove the file in a hook or choose a tar output');
    if (st.uid > NEWC_MAX || st.gid > NEWC_MAX) throw new UserError(`cpio (newc) cannot hold /${rel}: its owner ${st.uid}:${st.gid} does not fit 32 bits`);
    let mtime = Math.floor(st.mtimeMs / 1000);
    if (clamp !== undefined && mtime > clamp) mtime = clamp;
    const device = type === 'char' || type === 'block';
    const header: NewcEntry = {
      name,
      ino,
      mode: st.mode & 0o177777,
      uid: st.uid,
      gid: st.gid,
      nlink: type === 'dir' ? 2 + (subdirs.get(rel) ?? 0) : (group?.length ?? 1),
      mtime: Math.min(Math.max(mtime, 0), NEWC_MAX),
      // Of a hard-linked file's names, only the last carries the data.
      size: group && group.at(-1) !== i ? 0 : size,
      rdevmajor: device ? major(st.rdev) : 0,
      rdevminor: device ? minor(st.rdev) : 0,
    };
    return { path, header, ...(target ? { target } : {}) };
  });
}

/** Small pieces gathered into batches of about BATCH bytes; counts every byte. */
class Batch {
  private pending: Buffer[] = [];
  private bytes = 0;
  total = 0;

  /** Adds `b`; returns a full batch to write, if there is one. */
  add(b: Buffer): Buffer | undefined {
    this.pending.push(b);
    this.bytes += b.length;
    this.total += b.length;
    return this.bytes >= BATCH ? this.take() : undefined;
  }

  /** Counts bytes written around the batch (streamed file data). */
  passed(n: number): void {
    this.total += n;
  }

  /** What is gathered so far, or undefined when nothing is. */
  take(): Buffer | undefined {
    if (this.bytes === 0) return undefined;
    const out = Buffer.concat(this.pending, this.bytes);
    this.pending = [];
    this.bytes = 0;
    return out;
  }
}

/** The archive's bytes, in pieces of about BATCH bytes. */
async function* chunks(planned: Planned[]): AsyncGenerator<Buffer> {
  const batch = new Batch();
  for (const { path, header, target } of planned) {
    const full = batch.add(newcHeader(header));
    if (full) yield full;
    if (header.size === 0) continue;
    if (target || header.size <= READ_WHOLE) {
      const data = target ?? readSmall(path.abs, header.size);
      if (data.length !== header.size) throw new Error(`cpio entry ${header.name}: it changed while it was read`);
      const more = batch.add(data);
      if (more) yield more;
    } else {
      const before = batch.take();
      if (before) yield before;
      let n = 0;
      for await (const chunk of createReadStream(path.abs, { highWaterMark: READ_WHOLE }) as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > header.size) break;
        batch.passed(chunk.length);
        yield chunk;
      }
      if (n !== header.size) throw new Error(`cpio entry ${header.name}: the file changed size while it was read`);
    }
    const pad = padding(header.size);
    const padded = pad > 0 ? batch.add(Buffer.alloc(pad)) : undefined;
    if (padded) yield padded;
  }
  const trailer = batch.add(newcTrailer());
  if (trailer) yield trailer;
  const blockPad = batch.add(Buffer.alloc(padding(batch.total, CPIO_BLOCK)));
  if (blockPad) yield blockPad;
  const rest = batch.take();
  if (rest) yield rest;
}

/** Writes the tree at `root` to `out` as a newc cpio archive and ends `out`. */
export async function writeTreeAsCpio(root: string, out: Writable, opts: TreeCpioOptions = {}): Promise<TreeCpioResult> {
  let planned: Planned[];
  try {
    planned = await planEntries(root, opts.mtimeClamp);
  } catch (err) {
    out.destroy(); // nothing was written: the output is not left waiting for an end
    throw err;
  }
  await pipeline(Readable.from(chunks(planned), { objectMode: false }), out);
  return { entries: planned.length };
}
