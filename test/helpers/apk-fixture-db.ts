/**
 * The test side of an installed Alpine tree: a small reader of
 * /lib/apk/db/installed (apk's "fdb": each package's index fields, then
 * r: q: s: f:, then F: directories with an optional M:uid:gid:mode, each
 * followed by its R: files with an optional a:uid:gid:mode and Z: checksum;
 * a blank line after each package) and of a plain tar (scripts.tar), and
 * what the fixture says the database must hold. Independent of kiln's src/.
 *
 * apk writes M:/a: only when the owner or mode differ from its defaults
 * (directories 0:0:755, files 0:0:644); a symlink's mode is 777, so it has
 * an a: line, and its Z: is the SHA1 of its target.
 */
import type { ApkBuilt } from './apk-fixture-package.ts';

export interface DbFile {
  acl?: string;
  checksum?: string;
}

export interface DbDir {
  acl?: string;
  files: Map<string, DbFile>;
}

export interface DbPackage {
  /** Index fields in the order they appear, e.g. [['C', 'Q1...'], ['P', 'musl'], ...]. */
  fields: [string, string][];
  dirs: Map<string, DbDir>;
  /** Letters in the order they appear (fields and file lines), for order checks. */
  letters: string;
}

export function parseInstalled(text: string): DbPackage[] {
  const out: DbPackage[] = [];
  for (const block of text.split(/\n\n+/)) {
    if (!block.trim()) continue;
    const pkg: DbPackage = { fields: [], dirs: new Map(), letters: '' };
    let dir: DbDir | undefined;
    let file: DbFile | undefined;
    for (const line of block.split('\n')) {
      if (!line) continue;
      const letter = line[0] as string;
      const value = line.slice(2);
      if (line[1] !== ':') throw new Error(`not an installed-database line: ${JSON.stringify(line)}`);
      pkg.letters += letter;
      if (letter === 'F') {
        dir = { files: new Map() };
        pkg.dirs.set(value, dir);
        file = undefined;
      } else if (letter === 'M' && dir && !file) dir.acl = value;
      else if (letter === 'R') {
        if (!dir) throw new Error(`R:${value} before any F:`);
        file = {};
        dir.files.set(value, file);
      } else if (letter === 'a' && file) file.acl = value;
      else if (letter === 'Z' && file) file.checksum = value;
      else pkg.fields.push([letter, value]);
    }
    out.push(pkg);
  }
  return out;
}

export const field = (p: DbPackage, letter: string): string | undefined => p.fields.find(([l]) => l === letter)?.[1];

const hexToQ1 = (hex: string) => `Q1${Buffer.from(hex, 'hex').toString('base64')}`;

/** The index fields the database must carry for a package, in apk's order. */
export function expectedFields(p: ApkBuilt): [string, string][] {
  const f: [string, string][] = [['C', p.checksum], ['P', p.name], ['V', p.version], ['A', p.arch], ['S', String(p.size)], ['I', String(p.installedSize)], ['T', p.desc], ['U', p.url], ['L', p.license], ['o', p.origin], ['m', 'kiln tests <maintainer@kiln.invalid>'], ['t', String(p.builddate)], ['c', p.commit]];
  if (p.providerPriority) f.push(['k', String(p.providerPriority)]);
  if (p.depends.length) f.push(['D', p.depends.join(' ')]);
  if (p.provides.length) f.push(['p', p.provides.join(' ')]);
  if (p.installIf.length) f.push(['i', p.installIf.join(' ')]);
  if (p.replaces.length) f.push(['r', p.replaces.join(' ')]);
  return f;
}

/** Every difference between a package's database record and what the package carries; [] when they agree. */
export function dbDifferences(db: DbPackage, p: ApkBuilt): string[] {
  const out: string[] = [];
  const who = `${p.name}-${p.version}`;
  const fields = db.fields.filter(([l]) => l !== 'q' && l !== 's' && l !== 'f');
  const want = expectedFields(p);
  if (JSON.stringify(fields) !== JSON.stringify(want)) out.push(`${who}: fields ${JSON.stringify(fields)}, expected ${JSON.stringify(want)}`);
  const dirs = p.files.filter((f) => f.type === 'dir');
  const wantDirs = new Set(dirs.map((d) => d.path));
  for (const d of dirs) {
    const got = db.dirs.get(d.path);
    if (!got) {
      out.push(`${who}: no F:${d.path}`);
      continue;
    }
    const acl = d.uid === 0 && d.gid === 0 && d.mode === 0o755 ? undefined : `${d.uid}:${d.gid}:${d.mode.toString(8)}`;
    if (got.acl !== acl) out.push(`${who}: F:${d.path} M:${got.acl ?? '(none)'}, expected ${acl ?? '(none)'}`);
  }
  for (const name of db.dirs.keys()) if (!wantDirs.has(name) && name !== '') out.push(`${who}: F:${name} is not a directory of the package`);
  const listed = new Set<string>();
  for (const f of p.files.filter((x) => x.type !== 'dir')) {
    const slash = f.path.lastIndexOf('/');
    const dir = slash < 0 ? '' : f.path.slice(0, slash);
    const name = f.path.slice(slash + 1);
    const got = db.dirs.get(dir)?.files.get(name);
    listed.add(f.path);
    if (!got) {
      out.push(`${who}: no R:${name} under F:${dir}`);
      continue;
    }
    const acl = f.uid === 0 && f.gid === 0 && f.mode === 0o644 ? undefined : `${f.uid}:${f.gid}:${f.mode.toString(8)}`;
    if (got.acl !== acl) out.push(`${who}: ${f.path} a:${got.acl ?? '(none)'}, expected ${acl ?? '(none)'}`);
    const sum = hexToQ1(f.sha1 as string);
    if (got.checksum !== sum) out.push(`${who}: ${f.path} Z:${got.checksum ?? '(none)'}, expected ${sum}`);
  }
  for (const [dir, d] of db.dirs) for (const name of d.files.keys()) if (!listed.has(dir ? `${dir}/${name}` : name)) out.push(`${who}: R:${name} under F:${dir} is not in the package`);
  return out;
}

/** The entries of a plain (uncompressed) tar: name and bytes, regular files only. */
export function readTar(tar: Buffer): { name: string; body: Buffer }[] {
  const out: { name: string; body: Buffer }[] = [];
  let at = 0;
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  let longName: string | undefined;
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(str(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156] as number);
    const body = tar.subarray(at + 512, at + 512 + size);
    const prefix = str(h.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/` : '') + str(h.subarray(0, 100));
    longName = undefined;
    if (type === 'L') longName = str(body);
    else if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
      if (path) longName = path;
    } else if (type === '0' || type === '\0') out.push({ name, body });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
