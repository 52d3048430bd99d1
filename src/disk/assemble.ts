/**
 * Carrying out a layout: the disk image as a sparse file of the planned
 * size, the table's pieces, each partition's image at its offset and the
 * blobs at theirs. Partition images are copied in 1 MiB chunks and a chunk
 * of zeros is not written, so the holes of a filesystem image stay holes
 * and a mostly empty 4G disk costs little disk and time.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { UserError } from '../util/errors.ts';
import { gptPieces } from './gpt.ts';
import { mbrPieces } from './mbr.ts';
import { formatSize } from './sizes.ts';
import type { DiskLayout, TablePiece } from './types.ts';

const CHUNK = 1024 * 1024;

/** The table's pieces for `layout` (GPT or MBR, as it says). */
export function tablePieces(layout: DiskLayout): TablePiece[] {
  return layout.table === 'gpt' ? gptPieces(layout) : mbrPieces(layout);
}

function allZero(b: Buffer): boolean {
  if (b.byteOffset % 8) return b.every((x) => x === 0);
  const words = new BigUint64Array(b.buffer, b.byteOffset, b.length >>> 3);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  for (let i = words.length << 3; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

async function writeAll(out: FileHandle, bytes: Uint8Array, at: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await out.write(bytes, done, bytes.length - done, at + done);
    done += bytesWritten;
  }
}

/** Copies `file` to `at`, skipping the chunks that are all zeros. */
async function copySparse(out: FileHandle, file: string, at: number, length: number): Promise<void> {
  const input = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK); // its own ArrayBuffer: 8-byte aligned for allZero
    for (let pos = 0; pos < length; ) {
      const want = Math.min(CHUNK, length - pos);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await input.read(buffer, got, want - got, pos + got);
        if (bytesRead === 0) throw new Error(`${file} ended at ${pos + got} bytes while being copied (it had ${length})`);
        got += bytesRead;
      }
      const chunk = buffer.subarray(0, got);
      if (!allZero(chunk)) await writeAll(out, chunk, at + pos);
      pos += got;
    }
  } finally {
    await input.close();
  }
}

/**
 * Writes the disk image for `layout` at `path`: `contents` are the
 * partitions' images by partition number, `blobs` the raw files at their
 * planned offsets. The file is fsync'ed before it is closed.
 */
export async function writeDiskImage(path: string, layout: DiskLayout, contents: readonly { number: number; image: string }[], blobs: readonly { file: string; offset: number }[]): Promise<void> {
  const sources = [];
  for (const c of contents) {
    const p = layout.partitions.find((q) => q.number === c.number);
    if (!p) throw new Error(`the layout has no partition ${c.number} for ${c.image}`);
    const { size } = await stat(c.image);
    if (size > p.size) throw new UserError(`the image for partition ${p.number} (${c.image}) is ${formatSize(size)}, larger than the partition's ${formatSize(p.size)}`, 'raise the partition\'s size, or use size = "auto"');
    sources.push({ file: c.image, at: p.offset, length: size });
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
    for (const s of sources) await copySparse(out, s.file, s.at, s.length);
    await out.sync();
  } finally {
    await out.close();
  }
}
