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
const FLUSH_AT = 256 * 1024;
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

function putString(h: Buffer, start: number, len: number, s: string | Buffer): void {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  b.copy(h, start, 0, Math.min(len, b.length));
}

/** `len - 1` zero-padded octal digits and a NUL. */
function putOctal(h: Buffer, start: number, len: number, value: number): void {
  h.write(value.toString(8).padStart(len - 1, '0'), start, len - 1, 'latin1');
  h[start + len - 1] = 0;
}

function checksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i] as number;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
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

function ustarHeader(e: {
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
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, e.name);
  putOctal(h, 100, 8, e.mode);
  putOctal(h, 108, 8, e.uid);
  putOctal(h, 116, 8, e.gid);
  putOctal(h, 124, 12, e.size);
  putOctal(h, 136, 12, e.mtime);
  h[156] = e.flag;
  putString(h, 157, 100, e.linkname);
  h.write('ustar\u000000', 257, 8, 'latin1');
  putString(h, 265, 31, e.uname);
  putString(h, 297, 31, e.gname);
  putOctal(h, 329, 8, e.devmajor);
  putOctal(h, 337, 8, e.devminor);
  putString(h, 345, 155, e.prefix);
  checksum(h);
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) for one entry: an optional pax header (+ data) and the ustar header. */
export function encodeHeader(entry: TarEntry): Buffer {
  const pax: Buffer[] = [];
  let path = entry.path;
  if (entry.type === 'dir' && !path.endsWith('/')) path += '/';
  let split = splitUstar(path);
  if (!split) {
    pax.push(paxRecord('path', Buffer.from(path, 'utf8')));
    split = ['', path];
  }
  let linkname = entry.linkpath ?? '';
  if (linkname.length > 100 || !ASCII.test(linkname)) {
    pax.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
  }
  const size = entry.type === 'file' ? entry.size : 0;
  if (size > MAX_SIZE) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (entry.uid > MAX_ID) pax.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (entry.gid > MAX_ID) pax.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  for (const key of ['uname', 'gname'] as const) {
    if (entry[key].length > 31 || !ASCII.test(entry[key])) pax.push(paxRecord(key, Buffer.from(entry[key], 'utf8')));
  }
  const mtime = Math.floor(entry.mtime);
  if (mtime !== entry.mtime || mtime < 0 || mtime > MAX_SIZE) pax.push(paxRecord('mtime', Buffer.from(String(entry.mtime))));
  for (const name of [...entry.xattrs.keys()].sort()) {
    pax.push(paxRecord(`SCHILY.xattr.${name}`, entry.xattrs.get(name) as Buffer));
  }
  const main = ustarHeader({
    name: split[1],
    prefix: split[0],
    mode: entry.mode & 0o7777,
    uid: entry.uid > MAX_ID ? 0 : entry.uid,
    gid: entry.gid > MAX_ID ? 0 : entry.gid,
    size: size > MAX_SIZE ? 0 : size,
    mtime: mtime < 0 || mtime > MAX_SIZE ? 0 : mtime,
    flag: TYPEFLAG[entry.type],
    linkname,
    uname: entry.uname,
    gname: entry.gname,
    devmajor: entry.type === 'char' || entry.type === 'block' ? (entry.devmajor ?? 0) : 0,
    devminor: entry.type === 'char' || entry.type === 'block' ? (entry.devminor ?? 0) : 0,
  });
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const paxHeader = ustarHeader({
    name: PAX_NAME,
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: 0,
    flag: 0x78, // 'x'
    linkname: '',
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, data, padding(data.length), main]);
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
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private busy = false;
  private finished = false;

  constructor(private readonly out: Writable) {}

  /** Appends one entry; `data` is required for a non-empty file and must match `entry.size`. */
  async add(entry: TarEntry, data?: Buffer | Readable | AsyncIterable<Buffer>): Promise<void> {
    if (this.busy) throw new Error('TarWriter.add called before the previous add finished');
    if (this.finished) throw new Error('TarWriter.add called after finish');
    this.busy = true;
    try {
      this.push(encodeHeader(entry));
      if (entry.type === 'file') {
        if (data === undefined) {
          if (entry.size !== 0) throw new Error(`tar entry ${entry.path}: no data for ${entry.size} bytes`);
        } else if (Buffer.isBuffer(data)) {
          if (data.length !== entry.size) throw new Error(`tar entry ${entry.path}: ${data.length} bytes of data for size ${entry.size}`);
          if (data.length >= FLUSH_AT) {
            await this.flush();
            await this.write(data);
          } else {
            this.push(data);
          }
        } else {
          await this.flush();
          let n = 0;
          for await (const chunk of data as AsyncIterable<Buffer>) {
            n += chunk.length;
            if (n > entry.size) break;
            await this.write(chunk);
          }
          if (n !== entry.size) throw new Error(`tar entry ${entry.path}: the data was ${n > entry.size ? 'longer' : 'shorter'} than its size ${entry.size}`);
        }
        if (entry.size % BLOCK !== 0) this.push(padding(entry.size));
      }
      if (this.batchBytes >= FLUSH_AT) await this.flush();
    } finally {
      this.busy = false;
    }
  }

  /** Writes the end-of-archive blocks, ends the output and waits until it has finished. */
  async finish(): Promise<void> {
    if (this.busy) throw new Error('TarWriter.finish called before the last add finished');
    this.finished = true;
    this.push(Buffer.alloc(2 * BLOCK));
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

  private push(b: Buffer): void {
    this.batch.push(b);
    this.batchBytes += b.length;
  }

  private async flush(): Promise<void> {
    if (this.batchBytes === 0) return;
    const b = this.batch.length === 1 ? (this.batch[0] as Buffer) : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    await this.write(b);
  }

  private async write(b: Buffer): Promise<void> {
    const out = this.out;
    if (out.destroyed || out.errored) throw out.errored ?? new Error('tar output is closed');
    if (!out.write(b)) await waitDrain(out);
  }
}
