/**
 * A streaming tar reader: ustar (with prefix), pax `x`/`g` headers, GNU `L`/`K`
 * long names, base-256 numbers. Member data is handed out in the chunks it
 * arrived in, so a large member never sits in memory whole. Every header's
 * checksum is checked; a truncated or corrupt archive is an ArchiveError.
 */
import { ArchiveError } from './errors.ts';
import { applyPax, checkChecksum, corrupt, cstring, numeric, parsePax } from './tar-header.ts';
import type { TarEntry, TarEntryType } from './types.ts';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** Upper bound for pax / GNU long-name member sizes (they are held in memory). */
const MAX_META = 8 * 1024 * 1024;

/** The data of one member: iterate it once, or take it whole with `buffer()`. */
export interface TarBody extends AsyncIterable<Buffer> {
  readonly size: number;
  /** The whole body as one Buffer (no copy when it lies within one input chunk). */
  buffer(): Promise<Buffer>;
}

export interface TarItem {
  entry: TarEntry;
  body: TarBody;
}

export interface ReadTarOptions {
  /**
   * Accept an archive that ends at a member boundary without the zero blocks
   * (Alpine's signature and control segments are cut that way). Default false.
   */
  allowMissingEnd?: boolean;
}

/** Pulls bytes from an async chunk source, handing out views where it can. */
class ByteSource {
  private chunk: Buffer = ZERO_BLOCK.subarray(0, 0);
  private pos = 0;
  private ended = false;
  /** Bytes consumed so far (for error messages). */
  offset = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const value: unknown = r.value;
      this.chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
      this.pos = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, or null when the source is at its end before the first byte. */
  async read(n: number): Promise<Buffer | null> {
    if (this.pos + n <= this.chunk.length) {
      const b = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return b;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (!(await this.fill())) {
        if (need === n) return null;
        throw truncated(this.offset + n - need);
      }
      const take = Math.min(need, this.chunk.length - this.pos);
      parts.push(this.chunk.subarray(this.pos, this.pos + take));
      this.pos += take;
      need -= take;
    }
    this.offset += n;
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, n);
  }

  /** Between 1 and `n` bytes from the current chunk; an error at the end of the source. */
  async readSome(n: number): Promise<Buffer> {
    if (!(await this.fill())) throw truncated(this.offset);
    const take = Math.min(n, this.chunk.length - this.pos);
    const b = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return b;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) n -= (await this.readSome(n)).length;
  }

  /** Reads and drops the rest of the source (so that a decompressor's late error still shows). */
  async drain(): Promise<void> {
    this.pos = this.chunk.length;
    while (await this.fill()) this.pos = this.chunk.length;
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }
}

function truncated(offset: number): ArchiveError {
  return new ArchiveError(`truncated tar archive: unexpected end of data at byte ${offset}`);
}

class Body implements TarBody {
  private remaining: number;
  private started = false;
  closed = false;

  constructor(
    private readonly src: ByteSource,
    readonly size: number,
  ) {
    this.remaining = size;
  }

  private start(): void {
    if (this.closed) throw new Error('tar member data read after moving on to the next member');
    if (this.started) throw new Error('tar member data read twice');
    this.started = true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.start();
    while (this.remaining > 0) {
      const b = await this.src.readSome(this.remaining);
      this.remaining -= b.length;
      yield b;
    }
  }

  async buffer(): Promise<Buffer> {
    this.start();
    if (this.remaining === 0) return Buffer.alloc(0);
    const b = await this.src.read(this.remaining);
    if (!b) throw truncated(this.src.offset);
    this.remaining = 0;
    return b;
  }

  /** Skips what the consumer did not read, and the padding. */
  async finish(): Promise<void> {
    this.closed = true;
    const pad = (BLOCK - (this.size % BLOCK)) % BLOCK;
    await this.src.skip(this.remaining + pad);
    this.remaining = 0;
  }
}

/** Strips leading `./` and trailing `/`; the root becomes `.`. */
export function normalizeTarPath(p: string): string {
  if (p.length > 1 && !p.startsWith('./') && !p.endsWith('/')) return p;
  let s = p.replace(/^(?:\.\/+)+/, '');
  if (s === '.') return '.';
  if (s.length > 1) s = s.replace(/\/+$/, '') || '/';
  return s === '' ? '.' : s;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/**
 * Reads a tar stream entry by entry. Each item's body must be consumed (or
 * ignored) before asking for the next item; what is left is skipped.
 */
export async function* readTar(source: AsyncIterable<Buffer> | Buffer, opts: ReadTarOptions = {}): AsyncGenerator<TarItem, void, undefined> {
  const iterable: AsyncIterable<Buffer> = Buffer.isBuffer(source) ? toAsync(source) : source;
  const src = new ByteSource(iterable[Symbol.asyncIterator]());
  let global = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const offset = src.offset;
      const h = await src.read(BLOCK);
      if (h === null) {
        if (opts.allowMissingEnd && !pax && longName === undefined && longLink === undefined) return;
        throw new ArchiveError(`truncated tar archive: no end-of-archive marker after byte ${offset}`);
      }
      if (h.equals(ZERO_BLOCK)) {
        await src.drain();
        return;
      }
      checkChecksum(h, offset);
      const flag = String.fromCharCode(h[156] as number);
      const size = numeric(h, 124, 12, 'size', offset);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > MAX_META) throw corrupt(`extended header of ${size} bytes`, offset);
        const data = await src.read(size);
        if (!data && size > 0) throw truncated(src.offset);
        await src.skip((BLOCK - (size % BLOCK)) % BLOCK);
        const bytes = data ?? Buffer.alloc(0);
        if (flag === 'x') pax = new Map([...(pax ?? []), ...parsePax(bytes, offset)]);
        else if (flag === 'g') global = new Map([...global, ...parsePax(bytes, offset)]);
        else if (flag === 'L') longName = cstring(bytes, 0, bytes.length);
        else longLink = cstring(bytes, 0, bytes.length);
        continue;
      }
      if (flag === 'V') {
        await src.skip(size + ((BLOCK - (size % BLOCK)) % BLOCK)); // GNU volume label
        continue;
      }
      let type = TYPES[flag];
      if (!type) throw new ArchiveError(`unsupported tar entry type ${JSON.stringify(flag)} in the header at byte ${offset}`);
      // POSIX "ustar\0" (GNU's "ustar  " has no prefix field: it keeps times there).
      const ustar = h[257] === 0x75 && h[258] === 0x73 && h[259] === 0x74 && h[260] === 0x61 && h[261] === 0x72 && h[262] === 0;
      let name = cstring(h, 0, 100);
      if (ustar && h[345] !== 0) name = `${cstring(h, 345, 155)}/${name}`;
      if (flag === '\0' && name.endsWith('/')) type = 'dir'; // pre-POSIX archives
      const entry: TarEntry = {
        path: longName ?? name,
        type,
        mode: numeric(h, 100, 8, 'mode', offset) & 0o7777,
        uid: numeric(h, 108, 8, 'uid', offset),
        gid: numeric(h, 116, 8, 'gid', offset),
        uname: cstring(h, 265, 32),
        gname: cstring(h, 297, 32),
        mtime: numeric(h, 136, 12, 'mtime', offset, true),
        size,
        xattrs: new Map(),
      };
      if (type === 'symlink' || type === 'hardlink') entry.linkpath = longLink ?? cstring(h, 157, 100);
      if (type === 'char' || type === 'block') {
        entry.devmajor = numeric(h, 329, 8, 'devmajor', offset);
        entry.devminor = numeric(h, 337, 8, 'devminor', offset);
      }
      if (global.size > 0) applyPax(entry, global, offset);
      if (pax) applyPax(entry, pax, offset);
      pax = undefined;
      longName = longLink = undefined;
      // Only regular files carry data; the size of anything else is not followed by data.
      const dataSize = entry.type === 'file' ? entry.size : 0;
      if (entry.type !== 'file') entry.size = 0;
      entry.path = normalizeTarPath(entry.path);
      if (entry.type === 'hardlink' && entry.linkpath !== undefined) entry.linkpath = normalizeTarPath(entry.linkpath);
      const body = new Body(src, dataSize);
      yield { entry, body };
      await body.finish();
    }
  } finally {
    await src.close();
  }
}

async function* toAsync(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

/**
 * Calls `onEntry` for each member in order, waiting for it; the body not
 * consumed by `onEntry` is skipped.
 */
export async function parseTar(
  source: AsyncIterable<Buffer> | Buffer,
  onEntry: (entry: TarEntry, body: TarBody) => void | Promise<void>,
  opts: ReadTarOptions = {},
): Promise<void> {
  for await (const { entry, body } of readTar(source, opts)) await onEntry(entry, body);
}
