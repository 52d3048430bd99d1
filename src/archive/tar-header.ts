/**
 * Decoding of tar header fields: NUL-terminated strings, octal and base-256
 * numbers, checksums, and pax extended header records (values kept as bytes).
 */
import { ArchiveError } from './errors.ts';
import type { TarEntry } from './types.ts';

const BLOCK = 512;

/** A NUL-terminated string field. */
export function cstring(h: Buffer, start: number, len: number): string {
  let end = h.indexOf(0, start);
  if (end < 0 || end > start + len) end = start + len;
  return h.toString('utf8', start, end);
}

/** An octal or base-256 numeric header field. */
export function numeric(h: Buffer, start: number, len: number, what: string, offset: number, signed = false): number {
  const first = h[start] as number;
  if (first & 0x80) {
    let v = BigInt(first & 0x7f);
    for (let i = start + 1; i < start + len; i++) v = (v << 8n) | BigInt(h[i] as number);
    if (first === 0xff) v -= 1n << BigInt(len * 8 - 1); // two's complement over the field
    const n = Number(v);
    if (!Number.isSafeInteger(n) || (n < 0 && !signed)) throw corrupt(`bad ${what}`, offset);
    return n;
  }
  const end = start + len;
  let i = start;
  while (i < end && h[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = h[i] as number;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  for (; i < end && h[i] !== 0; i++) {
    if (h[i] !== 0x20) throw corrupt(`bad ${what} field`, offset);
  }
  return v;
}

export function corrupt(what: string, offset: number): ArchiveError {
  return new ArchiveError(`corrupt tar archive: ${what} in the header at byte ${offset}`);
}

export function checkChecksum(h: Buffer, offset: number): void {
  const stored = numeric(h, 148, 8, 'checksum', offset);
  let unsigned = 8 * 0x20;
  let signed = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) {
    if (i === 148) i = 156;
    const b = h[i] as number;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw corrupt('checksum mismatch', offset);
}

/** Parses pax records `LEN key=value\n`; values stay bytes. */
export function parsePax(buf: Buffer, offset: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0) break; // trailing NUL padding written by some tools
    const sp = buf.indexOf(0x20, i);
    const lenText = sp < 0 ? '' : buf.toString('latin1', i, sp);
    const len = /^\d{1,9}$/.test(lenText) ? Number(lenText) : NaN;
    const end = i + len;
    if (!(len > 0) || end > buf.length || buf[end - 1] !== 0x0a) throw corrupt('bad pax extended header record', offset);
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end) throw corrupt('bad pax extended header record', offset);
    out.set(buf.toString('utf8', sp + 1, eq), Buffer.from(buf.subarray(eq + 1, end - 1)));
    i = end;
  }
  return out;
}

function paxNumber(key: string, value: Buffer, offset: number): number {
  const text = value.toString('latin1');
  const ok = key === 'mtime' ? /^-?\d+(\.\d+)?$/.test(text) : /^\d+$/.test(text);
  const n = Number(text);
  if (!ok || !Number.isFinite(n) || (key !== 'mtime' && !Number.isSafeInteger(n))) {
    throw corrupt(`bad pax ${key} ${JSON.stringify(text)}`, offset);
  }
  return n;
}

/** Percent-decoding (LIBARCHIVE.xattr names) to a UTF-8 string. */
function unpercent(s: string): string {
  return s.includes('%') ? Buffer.from(s.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8') : s;
}

/** POSIX's vendor namespace, `VENDOR.keyword`: what no case of applyPax reads is kept in `records`. */
const VENDOR_KEY = /^[A-Z][A-Z0-9_-]*\./;

export function applyPax(e: TarEntry, pax: Map<string, Buffer>, offset: number): void {
  for (const [key, value] of pax) {
    if (value.length === 0) continue; // an empty value cancels a global one: the header field stands
    switch (key) {
      case 'path':
        e.path = value.toString('utf8');
        break;
      case 'linkpath':
        e.linkpath = value.toString('utf8');
        break;
      case 'uname':
        e.uname = value.toString('utf8');
        break;
      case 'gname':
        e.gname = value.toString('utf8');
        break;
      case 'size':
      case 'uid':
      case 'gid':
      case 'mtime':
        e[key] = paxNumber(key, value, offset);
        break;
      case 'SCHILY.devmajor':
        e.devmajor = paxNumber('size', value, offset);
        break;
      case 'SCHILY.devminor':
        e.devminor = paxNumber('size', value, offset);
        break;
      default:
        if (key.startsWith('SCHILY.xattr.')) {
          e.xattrs.set(key.slice(13), value);
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          e.xattrs.set(unpercent(key.slice(17)), Buffer.from(value.toString('latin1'), 'base64'));
        } else if (key.startsWith('GNU.sparse.')) {
          throw new ArchiveError(`unsupported tar archive: sparse member (pax ${key}) in the header at byte ${offset}`);
        } else if (VENDOR_KEY.test(key)) {
          (e.records ??= new Map()).set(key, value);
        }
    }
  }
}
