/**
 * Carrying out a layout: the disk image as a sparse file of the planned
 * size, the table's pieces, each partition's image at its offset and the
 * blobs at theirs. Partition images are copied in 1 MiB chunks and a chunk
 * of zeros is not written, so the holes of a filesystem image stay holes
 * and a mostly empty 4G disk costs little disk; given an ExtentFinder, only
 * an image's data is read, so it costs little time too.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { UserError } from '../util/errors.ts';
import type { ExtentFinder } from './extents.ts';
import { gptPieces } from './gpt.ts';
import { mbrPieces } from './mbr.ts';
import { formatSize } from './sizes.ts';
import type { DiskLayout, TableKind, TablePiece } from './types.ts';

const CHUNK = 1024 * 1024;

const TABLE_WRITERS: Record<TableKind, (layout: DiskLayout) => TablePiece[]> = { gpt: gptPieces, mbr: mbrPieces };

/** The table's pieces for `layout` (GPT or MBR, as it says). */
export function tablePieces(layout: DiskLayout): TablePiece[] {
  return TABLE_WRITERS[layout.table](layout);
}

const ZEROS = Buffer.alloc(CHUNK);

/** Whether the chunk is all zeros (a native memcmp against zeros: fast enough for gigabytes). */
function allZero(b: Buffer): boolean {
  return b.equals(ZEROS.subarray(0, b.length));
}

async function writeAll(out: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await out.write(bytes, done, bytes.length - done, at + done);
    done += bytesWritten;
  }
}

/** Copies bytes [from, from + length) of `input` to `at + from`, skipping the chunks that are all zeros. */
async function copyRange(out: FileHandle, input: FileHandle, file: string, from: number, length: number, at: number, buffer: Buffer): Promise<void> {
  for (let pos = from; pos < from + length; ) {
    const want = Math.min(CHUNK, from + length - pos);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await input.read(buffer, got, want - got, pos + got);
      if (bytesRead === 0) throw new Error(`${file} ended at ${pos + got} bytes while being copied`);
      got += bytesRead;
    }
    const chunk = buffer.subarray(0, got);
    if (!allZero(chunk)) await writeAll(out, chunk, at + pos);
    pos += got;
  }
}

/** Copies `file` (`length` bytes) to `at`: only its data extents when `extents` can tell them, else all of it; zero chunks are not written. */
async function copySparse(out: FileHandle, file: string, at: number, length: number, extents?: ExtentFinder): Promise<void> {
  const ranges = (await extents?.(file)) ?? [{ start: 0, length }];
  const input = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (const r of ranges) {
      const start = Math.min(r.start, length);
      await copyRange(out, input, file, start, Math.min(r.start + r.length, length) - start, at, buffer);
    }
  } finally {
    await input.close();
  }
}

export interface WriteOptions {
  /** Finds the partition images' data so that their holes are not read (see extents.ts). */
  extents?: ExtentFinder;
}

/**
 * Writes the disk image for `layout` at `path`: `contents` are the
 * partitions' images by partition number, `blobs` the raw files at their
 * planned offsets. The file is fsync'ed before it is closed.
 */
export async function writeDiskImage(
  path: string,
  layout: DiskLayout,
  contents: readonly { number: number; image: string }[],
  blobs: readonly { file: string; offset: number }[],
  options: WriteOptions = {},
): Promise<void> {
  const sources: { file: string; at: number; length: number; extents?: ExtentFinder }[] = [];
  for (const c of contents) {
    const p = layout.partitions.find((q) => q.number === c.number);
    if (!p) throw new Error(`the layout has no partition ${c.number} for ${c.image}`);
    const { size } = await stat(c.image);
    if (size > p.size) throw new UserError(`the image for partition ${p.number} (${c.image}) is ${formatSize(size)}, larger than the partition's ${formatSize(p.size)}`, 'raise the partition\'s size, or use size = "auto"');
    sources.push({ file: c.image, at: p.offset, length: size, extents: options.extents });
  }
  for (const b of blobs) {
    const planned = layout.blobs.find((q) => q.offset === b.offset);
    const { size } = await stat(b.file);
    if (!planned || size > planned.size) throw new Error(`the blob ${b.file} (${size} bytes at ${b.offset}) is not the one the layout planned there`);
    sources.push({ file: b.file, at: b.offset, length: size });
  }
  const out = await open(path, 'w');
  try {
    await out.truncate(layout.size);
    for (const piece of tablePieces(layout)) await writeAll(out, piece.bytes, piece.at);
    for (const s of sources) await copySparse(out, s.file, s.at, s.length, s.extents);
    await out.sync();
  } finally {
    await out.close();
  }
}
