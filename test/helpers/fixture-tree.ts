/**
 * Staging trees for fixture packages of any format: entries written from
 * small literals, directories made whatever the umask, and a tree listed in
 * the order package tools store it (parents first, siblings in byte order).
 */
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** One path of a fixture package: a file, a symlink or a directory. */
export type FixtureEntry = { text: string; mode?: number } | { link: string } | { dir: true; mode?: number };

export interface ListedPath {
  path: string;
  dir: boolean;
  /** Bytes of a regular file, else 0. */
  size: number;
}

/** Creates `dir` below `stage` and its missing parents, mode 755 whatever the umask. */
export async function mkdirs(stage: string, dir: string, mode = 0o755): Promise<void> {
  if (dir === '.' || dir === '/' || existsSync(join(stage, dir))) return;
  await mkdirs(stage, posix.dirname(dir));
  await mkdir(join(stage, dir));
  await chmod(join(stage, dir), mode);
}

export async function writeEntry(stage: string, path: string, entry: FixtureEntry): Promise<void> {
  const target = join(stage, path);
  await mkdirs(stage, posix.dirname(path));
  if ('link' in entry) return symlink(entry.link, target);
  if ('dir' in entry) await mkdirs(stage, path);
  else await writeFile(target, entry.text);
  await chmod(target, entry.mode ?? ('dir' in entry ? 0o755 : 0o644));
}

/** Paths below `stage` in depth-first order, parents first, siblings in byte order; the top-level names in `skip` (metadata files) left out. */
export async function listTree(stage: string, skip: readonly string[] = [], rel = ''): Promise<ListedPath[]> {
  const out: ListedPath[] = [];
  const entries = (await readdir(join(stage, rel), { withFileTypes: true })).filter((e) => rel !== '' || !skip.includes(e.name));
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    const dir = entry.isDirectory();
    out.push({ path, dir, size: entry.isFile() ? (await lstat(join(stage, path))).size : 0 });
    if (dir) out.push(...(await listTree(stage, skip, path)));
  }
  return out;
}
