/** What is installed in an Arch-family tree, read from pacman's local database. */
import { Tree } from '../../tree/index.ts';
import type { InstalledPackage } from '../types.ts';
import { parseDesc } from './db.ts';
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
