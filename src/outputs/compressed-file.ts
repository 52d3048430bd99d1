/**
 * A file written through a compressor by a producer that streams into it
 * (a tar writer): the producer ends the stream; when it fails instead, the
 * stream is destroyed with its error, so the compressor is stopped and the
 * write fails with that error rather than waiting for input that never
 * comes.
 *
 * The file is created synchronously, before anything streams: an open still
 * in flight in the thread pool when a stopped worker removes its temporaries
 * would create the file again after the removal.
 */
import { createWriteStream, openSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compress, type Compression } from '../archive/index.ts';

export async function writeCompressedFile(file: string, compression: Compression, produce: (out: PassThrough) => Promise<void>): Promise<void> {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const sinkFile = createWriteStream(file, { fd: openSync(file, 'w', 0o644) });
  const sink = compression === 'none' ? pipeline(out, sinkFile) : pipeline(out, compress(compression), sinkFile);
  const produced = produce(out).catch((err: unknown) => {
    out.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  await Promise.all([produced, sink]);
}
