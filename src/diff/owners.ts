/**
 * Which package owns each path of an image, and which packages it has, from
 * the image's own package database, through the formats' own readers
 * (`database.ownedFiles` and `inventory` of FORMATS): nothing here knows a
 * format.
 */
import type { FormatName } from '../catalog/index.ts';
import { FORMATS } from '../formats/index.ts';
import type { InstalledPackage } from '../formats/types.ts';
import { Tree } from '../tree/index.ts';

/** True when `path` (relative to the root) belongs to some format's package database. */
export function isDatabasePath(path: string): boolean {
  return Object.values(FORMATS).some((f) => f.database.paths.test(path));
}

/** What the package database of one image says: its packages and who owns what. */
export interface PackageView {
  format?: FormatName;
  packages: InstalledPackage[];
  owners: Map<string, string[]>;
}

/** Reads the package database under `root`; an image without one has no packages and every path unowned. */
export async function readPackageView(root: string, warn: (message: string) => void = () => {}): Promise<PackageView> {
  const tree = new Tree(root);
  for (const format of Object.keys(FORMATS) as FormatName[]) {
    const { database, inventory } = FORMATS[format];
    if (!tree.exists(database.marker)) continue;
    return { format, packages: await inventory(root, () => {}), owners: database.ownedFiles(root) };
  }
  warn('no package database (of dpkg or pacman): every path is listed as owned by no package');
  return { packages: [], owners: new Map() };
}
