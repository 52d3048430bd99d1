/**
 * Reads of a filesystem image at a byte offset of a file (a whole image, or
 * a disk's partition): small metadata reads go through a few cached 1 MiB
 * pages, file contents stream past in 1 MiB pieces and are never held; and
 * the ListedInput of a filesystem kiln reads in place (erofs, vfat): its
 * reader lists paths and where each file's bytes lie, this hashes them.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { BuildError } from '../util/errors.ts';
import { DatabaseCopy, isDatabasePath } from './package-database.ts';
import type { ListedInput, Listing } from './types.ts';

/** Bytes `at` into the filesystem. */
export interface Range {
  at: number;
  length: number;
}

const PAGE = 1 << 20;
const PAGES_KEPT = 32;
/** Ranges up to this size are read through the page cache. */
const SMALL = 256 << 10;

export class ImageFile {
  /** Page number to its bytes (short at the file's end); evicted pages' buffers are reused, so reading allocates little. */
  private readonly pages = new Map<number, Buffer>();
  private readonly spare: Buffer[] = [];
  private streamBuffer: Buffer | undefined;

  private constructor(
    private readonly fd: FileHandle,
    readonly name: string,
    /** Where the filesystem starts in the file. */
    readonly base: number,
  ) {}

  static async open(file: string, base = 0): Promise<ImageFile> {
    return new ImageFile(await open(file, 'r'), file, base);
  }

  private async page(n: number): Promise<Buffer> {
    let p = this.pages.get(n);
    if (p) return p;
    if (this.pages.size >= PAGES_KEPT) {
      const [oldest, old] = this.pages.entries().next().value as [number, Buffer];
      this.pages.delete(oldest);
      this.spare.push(Buffer.from(old.buffer, old.byteOffset, PAGE));
    }
    const whole = this.spare.pop() ?? Buffer.allocUnsafe(PAGE);
    const { bytesRead } = await this.fd.read(whole, 0, PAGE, this.base + n * PAGE);
    p = whole.subarray(0, bytesRead);
    this.pages.set(n, p);
    return p;
  }

  /** `length` bytes at `offset` into the filesystem (metadata: through the cache); short at the file's end is an error. */
  async bytes(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const page = await this.page(Math.floor(at / PAGE));
      const from = at % PAGE;
      const n = page.copy(out, done, from, Math.min(page.length, from + length - done));
      if (n === 0) throw new BuildError(`${this.name}: the filesystem at offset ${this.base} is cut short (needs byte ${at})`);
      done += n;
    }
    return out;
  }

  /**
   * Hands `length` bytes at `offset` to `each`, in pieces that are only valid
   * during the call: a small range through the cache (files read in data
   * order then share their pages), a large one in 1 MiB reads past it.
   */
  async stream(offset: number, length: number, each: (piece: Buffer) => void): Promise<void> {
    if (length <= SMALL) return each(await this.bytes(offset, length));
    const buf = (this.streamBuffer ??= Buffer.allocUnsafe(PAGE));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fd.read(buf, 0, Math.min(buf.length, length - done), this.base + offset + done);
      if (bytesRead === 0) throw new BuildError(`${this.name}: the filesystem at offset ${this.base} is cut short (needs byte ${offset + done})`);
      each(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  }

  /** The bytes of some ranges, joined. */
  async read(ranges: readonly Range[]): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (const r of ranges) parts.push(await this.bytes(r.at, r.length));
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.fd.close();
  }
}

/** A listing and, for each regular file, where its bytes lie (hard links: the same array). */
export interface InPlaceListing {
  listing: Listing;
  contents: Map<string, readonly Range[]>;
}

/**
 * The filesystem at `offset` of `file` as a ListedInput: `list` walks it;
 * then each file's bytes are hashed in data order (once per content, so hard
 * links share it) and the package database's files copied aside.
 */
export async function inPlaceInput(file: string, offset: number, list: (img: ImageFile) => Promise<InPlaceListing>): Promise<ListedInput> {
  const db = new DatabaseCopy();
  try {
    const img = await ImageFile.open(file, offset);
    let listed: InPlaceListing;
    try {
      listed = await list(img);
      const digests = new Map<readonly Range[], string>();
      const order = [...new Set(listed.contents.values())].sort((a, b) => (a[0]?.at ?? 0) - (b[0]?.at ?? 0));
      for (const ranges of order) {
        const hash = createHash('sha256');
        for (const r of ranges) await img.stream(r.at, r.length, (piece) => hash.update(piece));
        digests.set(ranges, hash.digest('hex'));
      }
      for (const [path, ranges] of listed.contents) {
        (listed.listing.get(path) as { sha256?: string }).sha256 = digests.get(ranges);
        if (isDatabasePath(path)) db.add(path, await img.read(ranges));
      }
    } finally {
      await img.close();
    }
    const { listing, contents } = listed;
    const readFiles = async (wanted: ReadonlySet<string>, maxBytes: number) => {
      const out = new Map<string, Buffer>();
      const img = await ImageFile.open(file, offset);
      try {
        for (const path of wanted) {
          const ranges = contents.get(path);
          if (ranges && (listing.get(path)?.size ?? 0) <= maxBytes) out.set(path, await img.read(ranges));
        }
      } finally {
        await img.close();
      }
      return out;
    };
    return { listing, databaseRoot: db.root, readFiles, dispose: () => db.dispose() };
  } catch (err) {
    await db.dispose();
    throw err;
  }
}
