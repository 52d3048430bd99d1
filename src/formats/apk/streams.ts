/**
 * An apk file (a package, or APKINDEX.tar.gz) is gzip streams one after the
 * other, each a slice of one tar archive: the signature, the control part
 * (.PKGINFO and scripts; the index's APKINDEX and DESCRIPTION), the data.
 * Signatures and checksums are over a stream's compressed bytes, so each
 * stream is taken apart here with its exact byte range, then unpacked.
 */
import { crc32 } from '../../util/crc32.ts';
import { createGunzip, inflateRawSync } from 'node:zlib';
import { readTar, type TarEntry } from '../../archive/index.ts';

export interface GzipStream {
  /** The stream's bytes in the file, header to trailer. */
  raw: Buffer;
  /** What it decompresses to. */
  data: Buffer;
}

const FLAG_HCRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;

/** Thrown for a file that is not gzip streams end to end; the caller names the file. */
export class StreamError extends Error {}

/** The gzip streams of `file`, in order; a damaged stream (bad header, data or CRC) is a StreamError. */
export function splitGzipStreams(file: Buffer): GzipStream[] {
  const out: GzipStream[] = [];
  for (let at = 0; at < file.length; at += (out.at(-1) as GzipStream).raw.length) out.push(gzipStreamAt(file, at));
  return out;
}

/** The one gzip stream that starts at byte `start` of `file`, whole (small ones: the large data stream is inflateData's). */
export function gzipStreamAt(file: Buffer, start: number): GzipStream {
  let at = start;
  if (file.length - at < 18 || file[at] !== 0x1f || file[at + 1] !== 0x8b || file[at + 2] !== 8) throw new StreamError(`no gzip stream at byte ${at}`);
  const flags = file[at + 3] as number;
  at += 10;
  if (flags & FLAG_EXTRA) at += 2 + file.readUInt16LE(at);
  for (const flag of [FLAG_NAME, FLAG_COMMENT]) {
    if (!(flags & flag)) continue;
    const end = file.indexOf(0, at);
    if (end < 0) throw new StreamError(`truncated gzip header at byte ${start}`);
    at = end + 1;
  }
  if (flags & FLAG_HCRC) at += 2;
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    inflated = inflateRawSync(file.subarray(at), { info: true }) as unknown as typeof inflated;
  } catch (err) {
    throw new StreamError(`damaged gzip stream at byte ${start}: ${(err as Error).message}`);
  }
  at += inflated.engine.bytesWritten;
  if (at + 8 > file.length) throw new StreamError(`truncated gzip stream at byte ${start}`);
  const crc = file.readUInt32LE(at);
  const size = file.readUInt32LE(at + 4);
  if (crc !== crc32(inflated.buffer) || size !== (inflated.buffer.length >>> 0)) throw new StreamError(`gzip stream at byte ${start} fails its CRC`);
  return { raw: file.subarray(start, at + 8), data: inflated.buffer };
}

/**
 * The data stream `raw` inflated as it is read, in chunks of 64 KiB (CRC
 * and length checked at its end), so a large package never sits in memory
 * decompressed. Gzip members after the first continue it, as apk's own
 * gzip reader reads on through them (the datahash covers them all).
 */
export async function* inflateData(raw: Buffer): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  gunzip.end(raw);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    throw new StreamError(`damaged data stream: ${(err as Error).message}`);
  } finally {
    gunzip.destroy();
  }
}

/** One member of a stream's tar slice, its content whole (control parts are small). */
export interface SmallMember {
  entry: TarEntry;
  content: Buffer;
}

/** The members of a tar slice that may end without the end-of-archive blocks (signature and control streams). */
export async function readSlice(data: Buffer): Promise<SmallMember[]> {
  const out: SmallMember[] = [];
  for await (const { entry, body } of readTar(data, { allowMissingEnd: true })) out.push({ entry, content: await body.buffer() });
  return out;
}
