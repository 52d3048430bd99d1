/**
 * What an image holds, for both SBOMs, read from the finished tree once:
 * the installed packages and their dependency graph (the format's package
 * database), and every file no package owns (made by package scripts,
 * hooks, overlays, the users and system stages, kiln itself) with its size,
 * SHA-1 and SHA-256. The files of the package database itself (the
 * format's `database.directory`: /var/lib/dpkg, /var/lib/pacman/local,
 * /lib/apk/db) are listed as the package database, not as unowned.
 *
 * Only regular files and symbolic links are listed (a link's checksums are
 * those of its target's text); directories, devices, FIFOs and sockets are
 * not, nor a file that others may not read (/etc/shadow, debconf's
 * passwords.dat, a key): a published SBOM must not carry even a hash of
 * what the image keeps private, which would let anyone test a guess. A path counts as owned when a package lists it with its directories
 * resolved inside the tree (a package that lists /bin/sh owns usr/bin/sh
 * when /bin links to usr/bin). Files are in tree order (names in byte
 * order, a directory's entries after it) and hashed one at a time (a file
 * over 1 MiB as a stream), so that the result is the same on every machine
 * and memory stays small whatever the files' sizes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, readlinkSync } from 'node:fs';
import { relative } from 'node:path';
import { NotADirectoryError } from '../archive/index.ts';
import type { InstalledPackage, PackageFormat } from '../formats/types.ts';
import { Tree } from '../tree/index.ts';
import { walkTree } from '../tree/walk.ts';

export type ImageFileKind = 'unowned' | 'package-database';

export interface ImageFile {
  /** Below the root, no leading `/`. */
  path: string;
  kind: ImageFileKind;
  size: number;
  sha1: string;
  sha256: string;
  /** A symbolic link's target (what its checksums are of). */
  target?: string;
}

export interface ImageInventory {
  packages: InstalledPackage[];
  /** Each package's name with the names of the installed packages it depends on. */
  dependencies: Map<string, string[]>;
  /** Files no package owns and the package database's own, in tree order. */
  files: ImageFile[];
}

/** The reading of the tree an image inventory needs from its format. */
export type InventoryFormat = Pick<PackageFormat<never, never>, 'inventory' | 'database'>;

/**
 * Reads the packages, the graph and the files of the tree at `root`; each
 * part on its own, so that a database that cannot be read leaves the
 * others, said through `warn`.
 */
export async function readImageInventory(root: string, format: InventoryFormat, warn: (message: string) => void): Promise<ImageInventory> {
  const { database } = format;
  const packages = await format.inventory(root, warn).catch((err: Error) => {
    warn(`the manifest lists no packages: the image's package database cannot be read (${err.message})`);
    return [];
  });
  let dependencies = new Map<string, string[]>();
  try {
    dependencies = database.dependencies(root);
  } catch (err) {
    warn(`the SBOMs have no dependency graph: the package database cannot be read (${(err as Error).message})`);
  }
  let owned: Set<string>;
  try {
    owned = ownedPaths(root, database.ownedFiles(root));
  } catch (err) {
    warn(`the SBOMs list no files: the package database's file lists cannot be read (${(err as Error).message})`);
    return { packages, dependencies, files: [] };
  }
  return { packages, dependencies, files: await unownedFiles(root, owned, database.directory) };
}

/** The owned paths as the tree holds them: each one's directory resolved through the tree's symlinks. */
function ownedPaths(root: string, owners: Map<string, string[]>): Set<string> {
  const tree = new Tree(root);
  const resolved = new Map<string, string>();
  const directory = (dir: string): string => {
    let real = resolved.get(dir);
    if (real === undefined) {
      try {
        real = relative(tree.root, tree.hostPath(dir));
      } catch (err) {
        // A component that is not a directory: nothing is below it, the path is kept as written.
        if (!(err instanceof NotADirectoryError)) throw err;
        real = dir;
      }
      resolved.set(dir, real);
    }
    return real;
  };
  const out = new Set<string>();
  for (const path of owners.keys()) {
    const slash = path.lastIndexOf('/');
    if (slash < 0) {
      out.add(path);
      continue;
    }
    const dir = directory(path.slice(0, slash));
    out.add(dir === '' ? path.slice(slash + 1) : `${dir}/${path.slice(slash + 1)}`);
  }
  return out;
}

async function unownedFiles(root: string, owned: Set<string>, databaseDir: string): Promise<ImageFile[]> {
  const found: { path: string; host: string; kind: ImageFileKind; link: boolean; size: number }[] = [];
  walkTree(root, (rel, st, host) => {
    if (!st.isFile() && !st.isSymbolicLink()) return;
    if (st.isFile() && (st.mode & 0o004) === 0) return;
    const inDatabase = rel.startsWith(`${databaseDir}/`);
    if (!inDatabase && owned.has(rel)) return;
    found.push({ path: rel, host, kind: inDatabase ? 'package-database' : 'unowned', link: st.isSymbolicLink(), size: st.size });
  });
  const files: ImageFile[] = [];
  for (const f of found) {
    if (f.link) {
      const target = readlinkSync(f.host);
      const bytes = Buffer.from(target);
      files.push({ path: f.path, kind: f.kind, size: bytes.length, sha1: digest('sha1', bytes), sha256: digest('sha256', bytes), target });
    } else files.push({ path: f.path, kind: f.kind, ...(f.size <= SMALL ? smallFileHashes(f.host) : await fileHashes(f.host)) });
  }
  return files;
}

/** Files up to this size are read whole (a stream costs more than the read); larger ones are streamed. */
const SMALL = 1 << 20;

function smallFileHashes(path: string): { size: number; sha1: string; sha256: string } {
  const data = readFileSync(path);
  return { size: data.length, sha1: digest('sha1', data), sha256: digest('sha256', data) };
}

function digest(algorithm: string, data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** Size, SHA-1 and SHA-256 of a file, read once as a stream. */
async function fileHashes(path: string): Promise<{ size: number; sha1: string; sha256: string }> {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    sha1.update(chunk);
    sha256.update(chunk);
    size += chunk.length;
  }
  return { size, sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
}
