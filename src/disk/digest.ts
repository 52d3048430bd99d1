/**
 * The SHA256 of a sparse file without reading its holes: the data extents
 * are read, the holes hashed from one buffer of zeros. A disk image of
 * 1.3 GB that holds 130 MB took 2.2 s to hash by reading it whole; most of
 * that is the kernel zeroing page-cache pages for the holes.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Extent } from './extents.ts';

const CHUNK = 1 << 20;
const ZEROS = Buffer.alloc(CHUNK);

/** sha256 (hex) of the `size` bytes of `file`, reading only `extents` (everything else is zeros). */
export async function sparseSha256(file: string, size: number, extents: readonly Extent[]): Promise<string> {
  const hash = createHash('sha256');
  const zeros = (length: number) => {
    for (let left = length; left > 0; left -= CHUNK) hash.update(left >= CHUNK ? ZEROS : ZEROS.subarray(0, left));
  };
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK);
    let at = 0;
    for (const { start, length } of [...extents].sort((a, b) => a.start - b.start)) {
      if (start < at || start + length > size) throw new Error(`extent ${start}+${length} of ${file} overlaps another or lies past its end`);
      zeros(start - at);
      for (let pos = start; pos < start + length; ) {
        const want = Math.min(CHUNK, start + length - pos);
        const { bytesRead } = await handle.read(buffer, 0, want, pos);
        if (bytesRead === 0) throw new Error(`${file} ended at ${pos}, inside a data extent`);
        hash.update(buffer.subarray(0, bytesRead));
        pos += bytesRead;
      }
      at = start + length;
    }
    zeros(size - at);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
