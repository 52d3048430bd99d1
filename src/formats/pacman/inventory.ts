/** What is installed in an Arch-family tree, read from pacman's local database. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstalledPackage } from '../types.ts';
import { parseDesc } from './db.ts';
import { LOCAL_DB } from './localdb.ts';

export async function inventoryPacman(root: string): Promise<InstalledPackage[]> {
  const dir = join(root, LOCAL_DB);
  const out: InstalledPackage[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    const desc = parseDesc(await readFile(join(dir, entry, 'desc'), 'utf8'));
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
