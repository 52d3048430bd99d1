/**
 * A deterministic pax tar writer. A pax `x` header is written only when the
 * ustar fields cannot hold an entry (long or non-ASCII names, big ids or sizes,
 * fractional or negative times, xattrs); its content never varies between runs
 * (fixed name, no atime/ctime). Small writes are batched; the output's
 * backpressure is honoured.
 */
import type { Readable, Writable } from 'node:stream';
import type { TarEntry, TarEntryType } from './types.ts';

const BLOCK = 512;
const BATCH = 256 * 1024;
/** File data up to this size is copied into the batch rather than written on its own. */
const INLINE = 64 * 1024;
const MAX_ID = 0o7777777;
const MAX_SIZE = 0o77777777777;
const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};
const PAX_NAME = 'PaxHeader';

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x01-\x7f]*$/;

/** Writes `s` (ASCII fast path, else UTF-8) into a field, cut at the field's length. */
function putString(h: Buffer, start: number, len: number, s: string): void {
  if (s.length > 0) h.write(s, start, len, 'utf8');
}

/** `len - 1` zero-padded octal digits and a NUL. */
function putOctal(h: Buffer, start: number, len: number, value: number): void {
  let v = value;
  for (let i = start + len - 2; i >= start; i--) {
    h[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  h[start + len - 1] = 0;
}

/** Splits an ASCII path into ustar prefix and name, or returns undefined. */
function splitUstar(path: string): [string, string] | undefined {
  if (!ASCII.test(path)) return undefined;
  if (path.length <= 100) return ['', path];
  if (path.length > 256) return undefined;
  for (let i = path.indexOf('/', path.length - 101); i >= 0 && i <= 155; i = path.indexOf('/', i + 1)) {
    if (path.length - i - 1 <= 100 && path.length - i - 1 > 0) return [path.slice(0, i), path.slice(i + 1)];
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key) + value.length + 3; // " " "=" "\n"
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

interface Ustar {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  flag: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** Writes one ustar header block into `h` at `at`. */
function writeUstar(h: Buffer, at: number, f: Ustar): void {
  h.fill(0, at, at + BLOCK);
  putString(h, at, 100, f.name);
  putOctal(h, at + 100, 8, f.mode);
  putOctal(h, at + 108, 8, f.uid);
  putOctal(h, at + 116, 8, f.gid);
  putOctal(h, at + 124, 12, f.size);
  putOctal(h, at + 136, 12, f.mtime);
  h.fill(0x20, at + 148, at + 156); // the checksum counts as spaces
  h[at + 156] = f.flag;
  putString(h, at + 157, 100, f.linkname);
  h.write('ustar\u000000', at + 257, 8, 'latin1');
  putString(h, at + 265, 31, f.uname);
  putString(h, at + 297, 31, f.gname);
  putOctal(h, at + 329, 8, f.devmajor);
  putOctal(h, at + 337, 8, f.devminor);
  putString(h, at + 345, 155, f.prefix);
  let sum = 0;
  const end = at + (f.prefix === '' ? 345 : 500);
  for (let i = at; i < end; i++) sum += h[i] as number;
  putOctal(h, at + 148, 7, sum);
  h[at + 155] = 0x20;
}

/** The ustar fields of an entry, and the pax records it needs (undefined when none). */
function plan(entry: TarEntry): { ustar: Ustar; pax: Buffer | undefined } {
  const pax: Buffer[] = [];
  let path = entry.path;
  if (entry.type === 'dir' && !path.endsWith('/')) path += '/';
  let split = splitUstar(path);
  if (!split) {
    pax.push(paxRecord('path', Buffer.from(path, 'utf8')));
    split = ['', path];
  }
  const linkname = entry.linkpath ?? '';
  if (linkname.length > 100 || !ASCII.test(linkname)) pax.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
  const size = entry.type === 'file' ? entry.size : 0;
  if (size > MAX_SIZE) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (entry.uid > MAX_ID) pax.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (entry.gid > MAX_ID) pax.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  if (entry.uname.length > 31 || !ASCII.test(entry.uname)) pax.push(paxRecord('uname', Buffer.from(entry.uname, 'utf8')));
  if (entry.gname.length > 31 || !ASCII.test(entry.gname)) pax.push(paxRecord('gname', Buffer.from(entry.gname, 'utf8')));
  const mtime = Math.floor(entry.mtime);
  const mtimeFits = mtime === entry.mtime && mtime >= 0 && mtime <= MAX_SIZE;
  if (!mtimeFits) pax.push(paxRecord('mtime', Buffer.from(String(entry.mtime))));
  if (entry.xattrs.size > 0) {
    for (const name of [...entry.xattrs.keys()].sort()) pax.push(paxRecord(`SCHILY.xattr.${name}`, entry.xattrs.get(name) as Buffer));
  }
  const device = entry.type === 'char' || entry.type === 'block';
  return {
    ustar: {
      name: split[1],
      prefix: split[0],
      mode: entry.mode & 0o7777,
      uid: entry.uid > MAX_ID ? 0 : entry.uid,
      gid: entry.gid > MAX_ID ? 0 : entry.gid,
      size: size > MAX_SIZE ? 0 : size,
      mtime: mtimeFits ? mtime : Math.max(0, Math.min(mtime, MAX_SIZE)),
      flag: TYPEFLAG[entry.type],
      linkname: linkname.length > 100 || !ASCII.test(linkname) ? '' : linkname,
      uname: entry.uname.length > 31 || !ASCII.test(entry.uname) ? '' : entry.uname,
      gname: entry.gname.length > 31 || !ASCII.test(entry.gname) ? '' : entry.gname,
      devmajor: device ? (entry.devmajor ?? 0) : 0,
      devminor: device ? (entry.devminor ?? 0) : 0,
    },
    pax: pax.length > 0 ? Buffer.concat(pax) : undefined,
  };
}

function paxUstar(size: number): Ustar {
  return { name: PAX_NAME, prefix: '', mode: 0o644, uid: 0, gid: 0, size, mtime: 0, flag: 0x78, linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0 };
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Bytes taken by the header(s) of a planned entry. */
function headerBytes(pax: Buffer | undefined): number {
  return pax ? BLOCK + padded(pax.length) + BLOCK : BLOCK;
}

/** Writes the header(s) of a planned entry into `h` at `at` (which has room for `headerBytes`). */
function writeHeaders(h: Buffer, at: number, p: ReturnType<typeof plan>): void {
  if (p.pax) {
    writeUstar(h, at, paxUstar(p.pax.length));
    p.pax.copy(h, at + BLOCK);
    const end = at + BLOCK + padded(p.pax.length);
    h.fill(0, at + BLOCK + p.pax.length, end);
    at = end;
  }
  writeUstar(h, at, p.ustar);
}

/** The header block(s) for one entry: an optional pax header (+ records) and the ustar header. */
export function encodeHeader(entry: TarEntry): Buffer {
  const p = plan(entry);
  const h = Buffer.allocUnsafe(headerBytes(p.pax));
  writeHeaders(h, 0, p);
  return h;
}

function waitDrain(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      out.off('drain', onDrain);
      out.off('error', onError);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(out.errored ?? new Error('tar output closed while writing'));
    out.on('drain', onDrain);
    out.on('error', onError);
    out.on('close', onClose);
  });
}

export class TarWriter {
  /** Pending output, written in one go when full: headers and small files are encoded in place. */
  private buf = Buffer.allocUnsafe(BATCH);
  private pos = 0;
  private busy = false;
  private finished = false;

  constructor(private readonly out: Writable) {}

  /** Appends one entry; `data` is required for a non-empty file and must match `entry.size`. */
  async add(entry: TarEntry, data?: Buffer | Readable | AsyncIterable<Buffer>): Promise<void> {
    if (this.busy) throw new Error('TarWriter.add called before the previous add finished');
    if (this.finished) throw new Error('TarWriter.add called after finish');
    this.busy = true;
    try {
      await this.addEntry(entry, data);
    } finally {
      this.busy = false;
    }
  }

  private async addEntry(entry: TarEntry, data?: Buffer | Readable | AsyncIterable<Buffer>): Promise<void> {
    const isFile = entry.type === 'file';
    if (isFile && data === undefined && entry.size !== 0) throw new Error(`tar entry ${entry.path}: no data for ${entry.size} bytes`);
    if (isFile && Buffer.isBuffer(data) && data.length !== entry.size) {
      throw new Error(`tar entry ${entry.path}: ${data.length} bytes of data for size ${entry.size}`);
    }
    const p = plan(entry);
    const need = headerBytes(p.pax);
    const inline = isFile && Buffer.isBuffer(data) && data.length <= INLINE ? padded(data.length) : 0;
    if (this.pos + need + inline > BATCH) await this.flush();
    if (need > BATCH) {
      await this.write(encodeHeader(entry)); // a huge pax header (many or large xattrs)
    } else {
      writeHeaders(this.buf, this.pos, p);
      this.pos += need;
    }
    if (!isFile || entry.size === 0) return;
    if (inline > 0 && Buffer.isBuffer(data)) {
      data.copy(this.buf, this.pos);
      this.buf.fill(0, this.pos + data.length, this.pos + inline);
      this.pos += inline;
      return;
    }
    await this.flush();
    if (Buffer.isBuffer(data)) {
      await this.write(data);
    } else {
      let n = 0;
      for await (const chunk of data as AsyncIterable<Buffer>) {
        n += chunk.length;
        if (n > entry.size) break;
        await this.write(chunk);
      }
      if (n !== entry.size) throw new Error(`tar entry ${entry.path}: the data was ${n > entry.size ? 'longer' : 'shorter'} than its size ${entry.size}`);
    }
    const pad = padded(entry.size) - entry.size;
    this.buf.fill(0, 0, pad);
    this.pos = pad;
  }

  /** Writes the end-of-archive blocks, ends the output and waits until it has finished. */
  async finish(): Promise<void> {
    if (this.busy) throw new Error('TarWriter.finish called before the last add finished');
    this.finished = true;
    if (this.pos + 2 * BLOCK > BATCH) await this.flush();
    this.buf.fill(0, this.pos, this.pos + 2 * BLOCK);
    this.pos += 2 * BLOCK;
    await this.flush();
    const out = this.out;
    await new Promise<void>((resolve, reject) => {
      if (out.errored) return reject(out.errored);
      out.once('error', reject);
      out.end(() => {
        out.off('error', reject);
        resolve();
      });
    });
  }

  private async flush(): Promise<void> {
    if (this.pos === 0) return;
    const b = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(BATCH); // the output may keep `b` until it is written
    this.pos = 0;
    await this.write(b);
  }

  private async write(b: Buffer): Promise<void> {
    const out = this.out;
    if (out.destroyed || out.errored) throw out.errored ?? new Error('tar output is closed');
    if (!out.write(b)) await waitDrain(out);
  }
}
