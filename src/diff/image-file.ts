/**
 * Reads of a filesystem image at a byte offset of a file (a whole image, or
 * a disk's partition): small metadata reads go through a few cached 1 MiB
 * pages, file contents stream past in 1 MiB pieces and are never held.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { BuildError } from '../util/errors.ts';

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

  async close(): Promise<void> {
    await this.fd.close();
  }
}
