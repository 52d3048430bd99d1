/** What is installed in an Arch-family tree, read from pacman's local database. */
import { Tree } from '../../tree/index.ts';
import { addOwner } from '../deb/inventory.ts';
import type { InstalledPackage, PackageDatabase } from '../types.ts';
import { parseDesc } from './db.ts';
import { pacmanDependencies } from './installed-relations.ts';
import { LOCAL_DB } from './localdb.ts';

export async function inventoryPacman(root: string): Promise<InstalledPackage[]> {
  const tree = new Tree(root);
  if (!tree.isDirectory(LOCAL_DB)) throw new Error(`no /${LOCAL_DB} in the image`);
  const out: InstalledPackage[] = [];
  for (const entry of tree.readdir(LOCAL_DB).filter((name) => tree.lstat(`${LOCAL_DB}/${name}`)?.isDirectory())) {
    const desc = parseDesc(tree.readText(`${LOCAL_DB}/${entry}/desc`));
    const one = (name: string) => desc.get(name)?.[0];
    const size = Number(one('SIZE'));
    out.push({
      name: one('NAME') as string,
      version: one('VERSION') as string,
      architecture: one('ARCH') ?? 'any',
      source: one('BASE') ?? (one('NAME') as string),
      installedSize: Number.isFinite(size) ? size : undefined,
      licenses: desc.get('LICENSE') ?? [],
      homepage: one('URL'),
    });
  }
  return out;
}

/** pacman's local database: per package a directory with `desc` (its NAME) and `files` (%FILES%, owned paths). */
export const pacmanDatabase: PackageDatabase = {
  marker: LOCAL_DB,
  paths: /^var\/lib\/pacman\/local\/([^/]+\/(desc|files)|ALPM_DB_VERSION)$/,
  ownedFiles(root) {
    const tree = new Tree(root);
    const owners = new Map<string, string[]>();
    for (const entry of tree.readdir(LOCAL_DB)) {
      if (!tree.lstat(`${LOCAL_DB}/${entry}`)?.isDirectory()) continue;
      const pkg = parseDesc(tree.readText(`${LOCAL_DB}/${entry}/desc`)).get('NAME')?.[0] ?? entry;
      const files = tree.readTextIfExists(`${LOCAL_DB}/${entry}/files`);
      for (const line of parseDesc(files ?? '').get('FILES') ?? []) addOwner(owners, line, pkg);
    }
    return owners;
  },
  directory: LOCAL_DB,
  dependencies: pacmanDependencies,
};
