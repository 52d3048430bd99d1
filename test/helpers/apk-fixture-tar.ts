/**
 * The byte layer of the apk fixture, written from apk-v2(5), the Alpine
 * wiki's "Apk spec" and what abuild's abuild-tar and abuild-sign do (read,
 * not copied): tar records (ustar headers, pax 'x' records), gzip members,
 * and RSA signatures over a whole gzip member.
 *
 * Deliberately independent of kiln's src/: nothing here is shared with
 * kiln's apk reader, so each checks the other.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const BLOCK = 512;
/** GNU tar's default record: 20 blocks. A full archive (the data stream) is padded to it. */
export const RECORD = 20 * BLOCK;

export interface TarHeader {
  name: string;
  /** '0' file, '2' symlink, '5' directory, 'x' pax records for the next entry. */
  type: '0' | '2' | '5' | 'x';
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  /** Raw bytes for the linkname field (abuild-tar's legacy checksum of a regular file). */
  linkBytes?: Buffer;
  /** 'ustar' (POSIX: "ustar\0" "00", as tar --format=posix writes) or 'gnu' ("ustar  \0", GNU tar's default, as abuild-sign's tar writes). */
  magic?: 'ustar' | 'gnu';
}

function octal(buf: Buffer, offset: number, width: number, value: number): void {
  // width-1 octal digits, zero-padded, then NUL (as tar and abuild-tar write them).
  buf.write(value.toString(8).padStart(width - 1, '0'), offset, width - 1, 'ascii');
  buf[offset + width - 1] = 0;
}

/** Splits a long path into ustar prefix and name (names over 100 bytes), or throws. */
function splitName(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return [prefix, name];
  }
  throw new Error(`path too long for a ustar header: ${path}`);
}

/** One 512-byte header. */
export function tarHeader(h: TarHeader): Buffer {
  const buf = Buffer.alloc(BLOCK);
  const [prefix, name] = splitName(h.name);
  buf.write(name, 0, 100, 'utf8');
  octal(buf, 100, 8, h.mode & 0o7777);
  octal(buf, 108, 8, h.uid ?? 0);
  octal(buf, 116, 8, h.gid ?? 0);
  octal(buf, 124, 12, h.size ?? 0);
  octal(buf, 136, 12, h.mtime);
  buf.write(h.type, 156, 1, 'ascii');
  if (h.linkBytes) h.linkBytes.copy(buf, 157, 0, 100);
  else if (h.linkname) buf.write(h.linkname, 157, 100, 'utf8');
  if (h.magic === 'gnu') buf.write('ustar  \0', 257, 8, 'binary');
  else buf.write('ustar\x0000', 257, 8, 'binary');
  buf.write(h.uname ?? 'root', 265, 32, 'utf8');
  buf.write(h.gname ?? 'root', 297, 32, 'utf8');
  if (h.magic !== 'gnu') {
    octal(buf, 329, 8, 0);
    octal(buf, 337, 8, 0);
  }
  buf.write(prefix, 345, 155, 'utf8');
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  buf[154] = 0;
  buf[155] = 0x20;
  return buf;
}

export function padBlock(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** One pax record: "LEN key=value\n", LEN counting itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** GNU tar's name for the pax header of PATH (--pax-option=exthdr.name=%d/PaxHeaders/%f). */
export function paxHeaderName(path: string): string {
  const slash = path.replace(/\/$/, '').lastIndexOf('/');
  const dir = slash < 0 ? '.' : path.slice(0, slash);
  const base = path.replace(/\/$/, '').slice(slash + 1);
  return `${dir}/PaxHeaders/${base}`;
}

/** An 'x' header and its records, ready to precede an entry. */
export function paxBlock(path: string, records: readonly [string, string][], mtime: number): Buffer {
  const body = Buffer.from(records.map(([k, v]) => paxRecord(k, v)).join(''));
  return Buffer.concat([tarHeader({ name: paxHeaderName(path), type: 'x', mode: 0o644, size: body.length, mtime }), padBlock(body)]);
}

/** The two zero blocks that end an archive, then zeros up to a whole GNU tar record. */
export function endOfArchive(length: number): Buffer {
  let total = length + 2 * BLOCK;
  if (total % RECORD !== 0) total += RECORD - (total % RECORD);
  return Buffer.alloc(total - length);
}

/** gzip -9 with no name and time 0 (one member). */
export function gzipMember(data: Buffer): Buffer {
  return gzipSync(data, { level: 9 });
}

export const sha1 = (data: Buffer | string): Buffer => createHash('sha1').update(data).digest();
export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** apk's checksum notation: "Q1" + base64 of a SHA1. */
export function q1(data: Buffer): string {
  return `Q1${sha1(data).toString('base64')}`;
}

export type SignatureKind = 'RSA' | 'RSA256';

/**
 * The signature member abuild-sign writes for a gzip member: a tar entry
 * `.SIGN.RSA.KEYNAME` (PKCS#1 v1.5 over SHA1 of the member's bytes, as
 * `openssl dgst -sha1 -sign`) or `.SIGN.RSA256.KEYNAME` (SHA256), cut (no
 * end-of-archive blocks), gzipped on its own.
 */
export function signatureMember(signed: Buffer, key: { name: string; secret: KeyObject }, kind: SignatureKind, mtime: number): Buffer {
  const signature = sign(kind === 'RSA' ? 'sha1' : 'sha256', signed, key.secret);
  const header = tarHeader({ name: `.SIGN.${kind}.${key.name}`, type: '0', mode: 0o644, size: signature.length, mtime, magic: 'gnu' });
  return gzipMember(Buffer.concat([header, padBlock(signature)]));
}

/** The starts of the gzip members of a file made by concatenating `members`. */
export function memberOffsets(members: readonly Buffer[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const m of members) {
    out.push(at);
    at += m.length;
  }
  return out;
}
