/**
 * Unpacking one pacman package natively, as pacman's extraction would: the
 * tree into the root, the metadata members (.PKGINFO, .MTREE, .INSTALL,
 * .CHANGELOG) kept for the local database. The package must be the one the
 * sync database lists: .PKGINFO's pkgname, pkgver and arch as planned.
 */
import { parsePkginfo } from '../pkginfo.ts';
import { createHash } from 'node:crypto';
import { compressionFromName, decompressMember, readTar, type Extractor } from '../../archive/index.ts';
import { UserError } from '../../util/errors.ts';
import { checkPackageIdentity } from '../package-identity.ts';
import type { PlannedPackage } from '../types.ts';

export interface UnpackedPacman {
  /** .PKGINFO as key -> values, in file order. */
  pkginfo: Map<string, string[]>;
  /** The raw (gzip) .MTREE, when the package has one. */
  mtree?: Buffer;
  install?: Buffer;
  changelog?: Buffer;
  /** Modification times (seconds) of .INSTALL and .CHANGELOG: pacman extracts them into the local database with their times, and -Qkk compares them with the .MTREE. */
  metadataTimes: Partial<Record<'.INSTALL' | '.CHANGELOG', number>>;
  /** Every path in the package, directories with a trailing slash, sorted as pacman sorts its file lists. */
  files: string[];
  /** Backup files (from .PKGINFO) with the md5 of the packaged content. */
  backup: [string, string][];
}

const METADATA = new Set(['.PKGINFO', '.MTREE', '.INSTALL', '.CHANGELOG', '.BUILDINFO']);

/** `file` is the whole package (its sha256 already checked against the plan's); `planned` is what the sync database says about it. */
export async function unpackPacman(file: Buffer, planned: PlannedPackage, extractor: Extractor): Promise<UnpackedPacman> {
  const url = planned.urls[0] ?? planned.name;
  const data = await decompressMember(file, compressionFromName(url));
  const meta = new Map<string, Buffer>();
  const metadataTimes: UnpackedPacman['metadataTimes'] = {};
  const files: string[] = [];
  const contents = new Map<string, Buffer>();
  // .PKGINFO comes before the tree (makepkg writes the metadata first): its backup list is known in time.
  let pkginfo: Map<string, string[]> | undefined;
  let backupPaths: Set<string> | undefined;
  for await (const { entry, body } of readTar(data)) {
    const path = entry.path.replace(/^\.\//, '');
    if (METADATA.has(path)) {
      meta.set(path, await body.buffer());
      if (path === '.INSTALL' || path === '.CHANGELOG') metadataTimes[path] = entry.mtime;
      if (path === '.PKGINFO') {
        pkginfo = parsePkginfo(meta.get(path) as Buffer);
        // Before the first file of the tree is written.
        const one = (key: string) => pkginfo?.get(key)?.[0];
        checkPackageIdentity(planned, { name: one('pkgname'), version: one('pkgver'), architecture: one('arch') }, { name: 'pkgname', version: 'pkgver', architecture: 'arch' });
        backupPaths = new Set(pkginfo.get('backup') ?? []);
      }
      continue;
    }
    if (path === '' || path === '.') continue;
    if (!pkginfo) throw new UserError(`${url}: .PKGINFO does not come first in the package`, 'the package is broken or not a pacman package');
    files.push(entry.type === 'dir' ? `${path.replace(/\/$/, '')}/` : path);
    if (entry.type === 'file' && backupPaths?.has(path)) {
      const whole = await body.buffer();
      contents.set(path, whole);
      await extractor.apply(entry, whole);
    } else {
      await extractor.apply(entry, body);
    }
  }
  if (!pkginfo) throw new UserError(`${url}: not a pacman package (no .PKGINFO)`, 'the package is broken or not a pacman package');
  const backup = (pkginfo.get('backup') ?? []).map((p): [string, string] => [p, md5(contents.get(p))]);
  files.sort(compareBytes);
  return { pkginfo, mtree: meta.get('.MTREE'), install: meta.get('.INSTALL'), changelog: meta.get('.CHANGELOG'), metadataTimes, files, backup };
}

function md5(data: Buffer | undefined): string {
  // A backup entry without a file in the package gets pacman's placeholder for "no hash".
  return data ? createHash('md5').update(data).digest('hex') : '(null)';
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
