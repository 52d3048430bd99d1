/**
 * Overlays: trees of files copied into the image, before the packages
 * (overlay.skeleton) or after them (overlay.extra). A directory's files get
 * overlay.owner (root by default) and their own modes; a tar keeps its owners.
 * Either way they go through the same safe extraction as packages: nothing is
 * written through a symlink or outside the tree.
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compressionFromName, createExtractor, decompress, extractTar, type TarEntry } from '../archive/index.ts';
import { Tree } from '../tree/index.ts';
import { UserError } from '../util/errors.ts';

/**
 * What an overlay holds, as a digest for stage keys: names, types, modes, contents, link targets.
 * Computed before the build starts; a file it cannot read is the user's to fix (the config check
 * finds it first).
 */
export function overlayDigest(source: string, what: string): string {
  const hash = createHash('sha256');
  const read = <T>(abs: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOENT') throw err;
      throw new UserError(`${what}: cannot read ${abs}: ${code === 'ENOENT' ? 'it is gone' : 'permission denied'}`, 'every file and directory of an overlay must be readable by you', { cause: err });
    }
  };
  if (!read(source, () => statSync(source)).isDirectory()) return hash.update('tar\0').update(read(source, () => readFileSync(source))).digest('hex');
  const visit = (rel: string) => {
    const abs = join(source, rel);
    const st = read(abs, () => lstatSync(abs));
    hash.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) hash.update(read(abs, () => readlinkSync(abs)));
    else if (st.isFile()) hash.update(read(abs, () => readFileSync(abs)));
    else if (st.isDirectory()) for (const name of read(abs, () => readdirSync(abs)).sort()) visit(rel ? `${rel}/${name}` : name);
    hash.update('\0');
  };
  visit('');
  return hash.digest('hex');
}

/** Ids for "user:group" (names looked up in the tree's /etc/passwd and /etc/group). */
export function resolveOwner(root: string, spec: string, what: string): { uid: number; gid: number } {
  const [user = '', group = user] = spec.split(':');
  const tree = new Tree(root);
  const lookup = (file: string, name: string, kind: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    // No such file yet (a skeleton overlay): only numbers work then.
    const text = tree.readTextIfExists(`etc/${file}`) ?? '';
    const line = text.split('\n').find((l) => l.split(':')[0] === name);
    if (!line) throw new UserError(`${what}: no ${kind} "${name}" in the image's /etc/${file}`, 'use numeric ids, or a user or group the image has (or that [[user]] / [[group]] makes)');
    return Number(line.split(':')[2]);
  };
  return { uid: lookup('passwd', user, 'user'), gid: lookup('group', group, 'group') };
}

/** Copies an overlay into the tree; returns the number of entries. */
export async function copyOverlay(root: string, source: string, owner: string, owners: Record<string, string>, what: string): Promise<number> {
  let count = 0;
  if (statSync(source).isDirectory()) {
    const { uid, gid } = resolveOwner(root, owner, `${what} (overlay.owner)`);
    const extractor = createExtractor(root, { chown: true });
    const visit = async (rel: string) => {
      const abs = join(source, rel);
      const st = lstatSync(abs);
      const base = { path: rel || '.', mode: st.mode & 0o7777, uid, gid, uname: '', gname: '', mtime: Math.floor(st.mtimeMs / 1000), size: 0, xattrs: new Map() };
      let entry: TarEntry;
      if (st.isDirectory()) entry = { ...base, type: 'dir' };
      else if (st.isSymbolicLink()) entry = { ...base, type: 'symlink', linkpath: readlinkSync(abs) };
      else if (st.isFile()) entry = { ...base, type: 'file', size: st.size };
      else throw new UserError(`${what}: ${abs} is neither a file, a directory nor a symlink`);
      if (rel) {
        await extractor.apply(entry, entry.type === 'file' && entry.size > 0 ? createReadStream(abs) : undefined);
        count++;
      }
      if (st.isDirectory()) for (const name of readdirSync(abs).sort()) await visit(rel ? `${rel}/${name}` : name);
    };
    await visit('');
    extractor.finish();
  } else {
    const kind = compressionFromName(source);
    const result = await extractTar(kind === 'none' ? createReadStream(source) : decompress(createReadStream(source), kind), root, { chown: true, xattrs: true });
    count = result.paths.length;
  }
  for (const [path, spec] of Object.entries(owners)) {
    const { uid, gid } = resolveOwner(root, spec, `overlay.owners "${path}"`);
    chownTree(new Tree(root), path, uid, gid);
  }
  return count;
}

/** chown -R without following links: a symlink gets the owner itself, its target is left alone. */
function chownTree(tree: Tree, path: string, uid: number, gid: number): void {
  const st = tree.lstat(path);
  if (!st) return;
  tree.chown(path, uid, gid, { follow: false });
  if (st.isDirectory()) for (const name of tree.readdir(path)) chownTree(tree, `${path}/${name}`, uid, gid);
}
