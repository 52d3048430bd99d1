/**
 * A tiny builder of apk files for kiln's own unit tests, assembled from
 * parts in the obvious way (ustar members, one gzip stream per part, an
 * RSA signature over the control or index stream). It is not the
 * repository fixture (test/helpers/apk-fixture*, written separately from
 * the format documents): it only makes the small cases these tests need,
 * tampered ones included.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export interface TestKey {
  name: string;
  privateKey: KeyObject;
  pem: string;
}

export function makeKey(name = 'kiln-test-5f00.rsa.pub'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { name, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export interface Member {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  linkpath?: string;
  /** pax records written in an 'x' member before this one (`APK-TOOLS.checksum.SHA1`). */
  pax?: Record<string, string>;
}

const TYPE = { file: '0', hardlink: '1', symlink: '2', dir: '5', pax: 'x' } as const;

function header(m: Omit<Member, 'type'> & { type?: keyof typeof TYPE }, size: number): Buffer {
  const h = Buffer.alloc(512);
  const octal = (at: number, len: number, v: number) => h.write(v.toString(8).padStart(len - 1, '0') + '\0', at, len, 'latin1');
  h.write(m.path, 0, 100);
  octal(100, 8, m.mode ?? (m.type === 'dir' ? 0o755 : 0o644));
  octal(108, 8, m.uid ?? 0);
  octal(116, 8, m.gid ?? 0);
  octal(124, 12, size);
  octal(136, 12, 1700000000);
  h.write(TYPE[m.type ?? 'file'], 156, 1, 'latin1');
  if (m.linkpath) h.write(m.linkpath, 157, 100);
  h.write('ustar\0' + '00', 257, 8, 'latin1');
  h.write('root', 265, 32);
  h.write('root', 297, 32);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0', 148, 7, 'latin1');
  return h;
}

/** A tar of `members`; `end`: with the end-of-archive blocks (data, index) or cut without them (signature, control). */
export function tar(members: Member[], end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    if (m.pax) {
      const records = Object.entries(m.pax).map(([k, v]) => {
        // "LEN key=value\n", LEN counting its own digits.
        const rest = ` ${k}=${v}\n`;
        let len = rest.length + 1;
        while (String(len).length + rest.length !== len) len++;
        return `${len}${rest}`;
      });
      const body = Buffer.from(records.join(''));
      parts.push(header({ path: `PaxHeaders/${m.path}`.slice(0, 99), type: 'pax' }, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
    const body = m.type === undefined || m.type === 'file' ? Buffer.from(m.content ?? '') : Buffer.alloc(0);
    parts.push(header(m, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const q1 = (data: Buffer) => `Q1${createHash('sha1').update(data).digest('base64')}`;

function signatureStream(signed: Buffer, key: TestKey, algorithm: 'RSA' | 'RSA256' = 'RSA'): Buffer {
  const signature = sign(algorithm === 'RSA' ? 'sha1' : 'sha256', signed, key.privateKey);
  return gzipSync(tar([{ path: `.SIGN.${algorithm}.${key.name}`, content: signature }], false));
}

export interface TestPackage {
  name: string;
  version: string;
  arch?: string;
  files?: Member[];
  scripts?: Record<string, string>;
  /** Extra .PKGINFO lines (`depend = x`, `triggers = /usr/bin`, `replaces = y`). */
  pkginfo?: string[];
  /** Index fields: D p i k, as written. */
  depends?: string;
  provides?: string;
  installIf?: string;
  providerPriority?: number;
  /** Give .PKGINFO this datahash instead of the data's. */
  wrongDatahash?: boolean;
  unsigned?: boolean;
  algorithm?: 'RSA' | 'RSA256';
}

export interface BuiltPackage {
  file: Buffer;
  checksum: string;
  record: string;
  spec: TestPackage;
}

export function makePackage(spec: TestPackage, key: TestKey): BuiltPackage {
  const arch = spec.arch ?? 'x86_64';
  const data = gzipSync(tar(spec.files ?? [], true));
  const datahash = spec.wrongDatahash ? '0'.repeat(64) : createHash('sha256').update(data).digest('hex');
  const lines = [`pkgname = ${spec.name}`, `pkgver = ${spec.version}`, `arch = ${arch}`, 'size = 1024', 'license = MIT', `origin = ${spec.name}`, ...(spec.pkginfo ?? []), `datahash = ${datahash}`];
  const control = gzipSync(tar([{ path: '.PKGINFO', content: lines.join('\n') + '\n' }, ...Object.entries(spec.scripts ?? {}).map(([n, text]) => ({ path: `.${n}`, mode: 0o755, content: text }))], false));
  const file = Buffer.concat([...(spec.unsigned ? [] : [signatureStream(control, key, spec.algorithm)]), control, data]);
  const checksum = q1(control);
  const fields = [`C:${checksum}`, `P:${spec.name}`, `V:${spec.version}`, `A:${arch}`, `S:${file.length}`, 'I:1024', `T:test package ${spec.name}`, 'U:https://example.invalid/', 'L:MIT', `o:${spec.name}`];
  if (spec.providerPriority !== undefined) fields.push(`k:${spec.providerPriority}`);
  if (spec.depends) fields.push(`D:${spec.depends}`);
  if (spec.provides) fields.push(`p:${spec.provides}`);
  if (spec.installIf) fields.push(`i:${spec.installIf}`);
  return { file, checksum, record: fields.join('\n') + '\n', spec };
}

/** APKINDEX.tar.gz of `packages`, signed by `key` (none: unsigned). */
export function makeIndex(packages: BuiltPackage[], key: TestKey | undefined, records = packages.map((p) => p.record).join('\n')): Buffer {
  const index = gzipSync(tar([{ path: 'DESCRIPTION', content: 'kiln test repository' }, { path: 'APKINDEX', content: records }], true));
  return key ? Buffer.concat([signatureStream(index, key), index]) : index;
}
