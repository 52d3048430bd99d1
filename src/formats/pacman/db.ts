/**
 * pacman repository databases (REPO.db, as repo-add writes them): a tar,
 * compressed or not, with one directory `NAME-VERSION/` per package holding
 * a `desc` file (and, in databases from before pacman 4.2, a separate
 * `depends` file). Both files, and pacman's local database, use the same
 * `%FIELD%` block format.
 */

import { decompressMember, readTar, type Compression } from '../../archive/index.ts';
import { UserError } from '../../util/errors.ts';
import type { PacmanPackage } from './types.ts';

/** The fields of a desc file, in file order; each maps to its lines. */
export type DescFields = Map<string, string[]>;

/**
 * Parse `%FIELD%` blocks: a header line, then one value per line up to an
 * empty line. Lines outside a block are ignored, as libalpm ignores them;
 * a field given twice gets the values of both (so `desc` and `depends` merge).
 */
export function parseDesc(text: string, into: DescFields = new Map()): DescFields {
  let values: string[] | undefined;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') {
      values = undefined;
    } else if (values !== undefined) {
      values.push(line);
    } else if (line.length > 2 && line.startsWith('%') && line.endsWith('%')) {
      const name = line.slice(1, -1);
      values = into.get(name);
      if (values === undefined) into.set(name, (values = []));
    }
  }
  return into;
}

/**
 * Write `%FIELD%` blocks in the order given. Empty strings are left out (an
 * empty line would end the block) and so are fields left with no value.
 */
export function formatDesc(entries: Iterable<readonly [string, readonly string[]]>): string {
  let text = '';
  for (const [name, values] of entries) {
    const lines = values.filter((value) => value !== '');
    if (lines.length === 0) continue;
    for (const line of [name, ...lines]) {
      if (/[\r\n]/.test(line)) throw new Error(`desc field ${name}: ${JSON.stringify(line)} spans several lines`);
    }
    text += `%${name}%\n${lines.join('\n')}\n\n`;
  }
  return text;
}

function single(fields: DescFields, name: string): string | undefined {
  return fields.get(name)?.[0];
}

/** `what` names the entry in errors: its directory and its repository. */
function required(fields: DescFields, name: string, what: string): string {
  const value = single(fields, name);
  if (value === undefined || value === '') {
    throw new UserError(`${what} has no %${name}%`, 'the repository database is damaged or not a pacman database');
  }
  return value;
}

function count(fields: DescFields, name: string, what: string): number {
  const text = single(fields, name);
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) throw new UserError(`${what} has a bad %${name}%: ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * A package from the fields of its desc entry. `entry` (the directory name,
 * `NAME-VERSION`) only serves error messages.
 */
export function packageFromDesc(fields: DescFields, repo: string, entry?: string): PacmanPackage {
  const where = `repository ${repo}`;
  const name = single(fields, 'NAME');
  const what = `${entry ?? name ?? 'an entry'} in ${where}`;
  const list = (field: string): string[] => [...(fields.get(field) ?? [])];
  const pkg: PacmanPackage = {
    repo,
    name: required(fields, 'NAME', what),
    version: required(fields, 'VERSION', what),
    // libalpm accepts a package without %ARCH% on any architecture, like `any`.
    arch: single(fields, 'ARCH') ?? 'any',
    filename: required(fields, 'FILENAME', what),
    csize: count(fields, 'CSIZE', what),
    isize: count(fields, 'ISIZE', what),
    sha256: single(fields, 'SHA256SUM') ?? '',
    license: list('LICENSE'),
    groups: list('GROUPS'),
    depends: list('DEPENDS'),
    optdepends: list('OPTDEPENDS'),
    makedepends: list('MAKEDEPENDS'),
    checkdepends: list('CHECKDEPENDS'),
    provides: list('PROVIDES'),
    conflicts: list('CONFLICTS'),
    replaces: list('REPLACES'),
  };
  const optional = { base: 'BASE', desc: 'DESC', url: 'URL', pgpsig: 'PGPSIG', packager: 'PACKAGER' } as const;
  for (const [key, field] of Object.entries(optional) as [keyof typeof optional, string][]) {
    const value = single(fields, field);
    if (value !== undefined) pkg[key] = value;
  }
  if (fields.has('BUILDDATE')) pkg.builddate = count(fields, 'BUILDDATE', what);
  return pkg;
}

/** The compression a database file uses, from its first bytes; undefined when it is none of those pacman writes. */
function compressionOf(data: Buffer): Compression | undefined {
  const startsWith = (...bytes: number[]): boolean => bytes.every((byte, i) => data[i] === byte);
  if (startsWith(0x1f, 0x8b)) return 'gz';
  if (startsWith(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (startsWith(0x28, 0xb5, 0x2f, 0xfd)) return 'zst';
  // An uncompressed tar: "ustar" at byte 257 of its first header (POSIX and GNU alike).
  if (data.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  return undefined;
}

/**
 * Every package of a repository database (REPO.db, or REPO.files, whose
 * file lists are skipped), in the order of the archive.
 */
export async function readRepoDb(data: Buffer, repo: string): Promise<PacmanPackage[]> {
  const compression = compressionOf(data);
  if (compression === undefined) {
    const start = data.subarray(0, 8).toString('hex') || 'nothing';
    throw new UserError(`the database of repository ${repo} is not a tar archive compressed with gzip, xz or zstd`, `it starts with ${start}`);
  }
  const entries = new Map<string, DescFields>();
  for await (const { entry, body } of readTar(await decompressMember(data, compression))) {
    const slash = entry.path.indexOf('/');
    if (entry.type !== 'file' || slash === -1) continue;
    const file = entry.path.slice(slash + 1);
    if (file !== 'desc' && file !== 'depends') continue;
    const directory = entry.path.slice(0, slash);
    let fields = entries.get(directory);
    if (fields === undefined) entries.set(directory, (fields = new Map()));
    parseDesc((await body.buffer()).toString('utf8'), fields);
  }
  return [...entries].map(([directory, fields]) => packageFromDesc(fields, repo, directory));
}
