/**
 * Unpacking one apk package natively, as apk's extraction would: the data
 * stream into the root through the extractor (confined to the root; owners,
 * modes with setuid bits, xattrs, hard links, symlinks), and what
 * /lib/apk/db/installed records of it: per directory its owner and mode,
 * per file its owner and mode and its checksum (`Q1` + base64 SHA1 of the
 * content, of a symlink's target, of a hard link's target file), the
 * xattrs' checksum where there are any. A file's or symlink's checksum is
 * also the package's own word for it (the APK-TOOLS.checksum.SHA1 pax
 * record abuild writes): content that does not match refuses the package,
 * as apk does. A file another package already
 * owns may be overwritten only when this package `replaces` it or both
 * come from the same origin, as apk allows.
 */
import { createHash, type Hash } from 'node:crypto';
import { posix } from 'node:path';
import { readTar, type Extractor, type TarEntry } from '../../archive/index.ts';
import { UserError } from '../../util/errors.ts';
import type { PlannedPackage } from '../types.ts';
import { BROKEN, dataTar, readApkPackage, type ApkPackageFile } from './package.ts';
import type { ApkPackageExtra } from './plan.ts';
import type { TrustedKey } from './trust.ts';

export interface ApkAcl {
  uid: number;
  gid: number;
  mode: number;
  /** `Q1` + base64 SHA1 over the sorted xattrs, when there are any. */
  xattrs?: string;
}

export interface ApkFileRecord {
  name: string;
  acl: ApkAcl;
  checksum?: string;
}

export interface ApkDirRecord {
  /** Relative, no leading or trailing slash ("" for the root). */
  path: string;
  acl: ApkAcl;
  files: ApkFileRecord[];
}

export interface UnpackedApk {
  name: string;
  version: string;
  checksum: string;
  pkginfo: Map<string, string[]>;
  scripts: ApkPackageFile['scripts'];
  /** Directories in the order the package's data stream meets them, each with its files. */
  dirs: ApkDirRecord[];
}

/** Who owns which file so far in this install (path -> package), shared by the packages in install order. */
export type FileOwners = Map<string, { name: string; origin: string }>;

export interface UnpackApkOptions {
  keys?: readonly TrustedKey[];
  owners: FileOwners;
}

/** apk's checksum of the xattrs: each name and value with its 4-byte big-endian length, sorted by name, SHA1. */
export function xattrChecksum(xattrs: Map<string, Buffer>): string | undefined {
  if (xattrs.size === 0) return undefined;
  const hash = createHash('sha1');
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  for (const name of [...xattrs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))) {
    const n = Buffer.from(name);
    const v = xattrs.get(name) as Buffer;
    hash.update(len(n.length)).update(n).update(len(v.length)).update(v);
  }
  return `Q1${hash.digest('base64')}`;
}

/** abuild's per-file checksum: a pax record, hex SHA1 of a file's content or of a symlink's target. */
const PAX_CHECKSUM = 'APK-TOOLS.checksum.SHA1';

/**
 * The Z: of a file or symlink: `actual` (the SHA1 of what was written) when
 * the entry's PAX_CHECKSUM says the same, or when it carries none (packages
 * made without abuild-tar); a different value refuses the package.
 */
function verifiedChecksum(label: string, path: string, entry: TarEntry, actual: Buffer): string {
  const said = entry.records?.get(PAX_CHECKSUM)?.toString('latin1');
  if (said !== undefined && said.toLowerCase() !== actual.toString('hex')) {
    throw new UserError(`${label}: /${path} does not match its ${PAX_CHECKSUM} (sha1 ${actual.toString('hex')}, the package says ${said})`, BROKEN);
  }
  return `Q1${actual.toString('base64')}`;
}

/** Files up to this size are read whole before they are written; larger ones are hashed as they stream. */
const WHOLE_FILE = 1 << 20;

/** The body's chunks, each also fed to `hash`, so a file is hashed as it is written. */
async function* hashing(body: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    hash.update(chunk);
    yield chunk;
  }
}

function aclOf(entry: TarEntry): ApkAcl {
  const x = xattrChecksum(entry.xattrs);
  return { uid: entry.uid, gid: entry.gid, mode: entry.mode & 0o7777, ...(x ? { xattrs: x } : {}) };
}

export async function unpackApk(file: Buffer, planned: PlannedPackage<ApkPackageExtra>, extractor: Extractor, opts: UnpackApkOptions): Promise<UnpackedApk> {
  const label = planned.urls[0] ?? `${planned.name}-${planned.version}.apk`;
  const pkg = await readApkPackage(file, planned, label, { keys: opts.keys, checksum: planned.extra.checksum });
  const one = (key: string) => pkg.pkginfo.get(key)?.[0];
  const origin = one('origin') ?? planned.name;
  const replaces = new Set((pkg.pkginfo.get('replaces') ?? []).flatMap((r) => r.split(' ')).map((r) => r.replace(/[<>=~].*$/, '')));
  const dirs: ApkDirRecord[] = [];
  const byPath = new Map<string, ApkDirRecord>();
  const dirRecord = (path: string, acl?: ApkAcl) => {
    let d = byPath.get(path);
    if (!d) {
      d = { path, acl: acl ?? { uid: 0, gid: 0, mode: 0o755 }, files: [] };
      byPath.set(path, d);
      dirs.push(d);
    } else if (acl) d.acl = acl;
    return d;
  };
  const fileChecksums = new Map<string, string>();
  for await (const { entry, body } of readTar(dataTar(pkg, label))) {
    const path = entry.path.replace(/^\.\//, '').replace(/\/$/, '');
    if (path === '' || path === '.') continue;
    if (entry.type === 'dir') {
      await extractor.apply(entry, body);
      dirRecord(path, aclOf(entry));
      continue;
    }
    const owner = opts.owners.get(path);
    if (owner && owner.name !== planned.name && owner.origin !== origin && !replaces.has(owner.name)) {
      throw new UserError(`${planned.name} ${planned.version} would overwrite /${path}, which ${owner.name} installed`, `the two packages conflict; leave one out of packages.install`);
    }
    let checksum: string | undefined;
    if (entry.type === 'file') {
      const hash = createHash('sha1');
      if (entry.size <= WHOLE_FILE) {
        // Most files are small: taken whole (one view of the inflated chunk), hashed and written in one go.
        const data = await body.buffer();
        hash.update(data);
        await extractor.apply(entry, data);
      } else {
        await extractor.apply(entry, hashing(body, hash));
      }
      checksum = verifiedChecksum(label, path, entry, hash.digest());
    } else {
      if (entry.type === 'symlink') checksum = verifiedChecksum(label, path, entry, createHash('sha1').update(entry.linkpath ?? '').digest());
      if (entry.type === 'hardlink') checksum = fileChecksums.get((entry.linkpath ?? '').replace(/^\.\//, ''));
      await extractor.apply(entry, body);
    }
    if (checksum) fileChecksums.set(path, checksum);
    opts.owners.set(path, { name: planned.name, origin });
    const dir = posix.dirname(path);
    dirRecord(dir === '.' ? '' : dir).files.push({ name: posix.basename(path), acl: aclOf(entry), ...(checksum ? { checksum } : {}) });
  }
  return { name: planned.name, version: planned.version, checksum: pkg.checksum, pkginfo: pkg.pkginfo, scripts: pkg.scripts, dirs };
}
