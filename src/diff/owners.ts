/**
 * Which package owns each path of an image, from the image's own package
 * database, one entry per format (an exhaustive table: a new format does not
 * compile until it says where its file lists are). The packages themselves
 * (name, version) come from the formats' `inventory` readers.
 */
import type { FormatName } from '../catalog/index.ts';
import { FORMATS } from '../formats/index.ts';
import type { InstalledPackage } from '../formats/types.ts';
import { parseDesc } from '../formats/pacman/db.ts';
import { Tree } from '../tree/index.ts';

export interface Ownership {
  /** The database file whose presence says the image uses this format. */
  marker: string;
  /** The paths (relative to the root) a streamed input copies aside for the readers below. */
  databasePaths: RegExp;
  /** Each owned path (relative, no leading `/`) with the names of the packages that list it. */
  ownedFiles(tree: Tree): Map<string, string[]>;
}

const DPKG_INFO = 'var/lib/dpkg/info';
const PACMAN_LOCAL = 'var/lib/pacman/local';

export const OWNERSHIP: Readonly<Record<FormatName, Ownership>> = {
  deb: {
    marker: 'var/lib/dpkg/status',
    databasePaths: /^var\/lib\/dpkg\/(status|info\/[^/]+\.list)$/,
    ownedFiles(tree) {
      const owners = new Map<string, string[]>();
      for (const name of tree.readdir(DPKG_INFO).filter((n) => n.endsWith('.list'))) {
        const pkg = name.slice(0, -'.list'.length).replace(/:[^:]+$/, '');
        for (const line of tree.readText(`${DPKG_INFO}/${name}`).split('\n')) addOwner(owners, line, pkg);
      }
      return owners;
    },
  },
  pacman: {
    marker: PACMAN_LOCAL,
    databasePaths: /^var\/lib\/pacman\/local\/([^/]+\/(desc|files)|ALPM_DB_VERSION)$/,
    ownedFiles(tree) {
      const owners = new Map<string, string[]>();
      for (const entry of tree.readdir(PACMAN_LOCAL)) {
        if (!tree.lstat(`${PACMAN_LOCAL}/${entry}`)?.isDirectory()) continue;
        const pkg = parseDesc(tree.readText(`${PACMAN_LOCAL}/${entry}/desc`)).get('NAME')?.[0] ?? entry;
        const files = tree.readTextIfExists(`${PACMAN_LOCAL}/${entry}/files`);
        for (const line of parseDesc(files ?? '').get('FILES') ?? []) addOwner(owners, line, pkg);
      }
      return owners;
    },
  },
};

function addOwner(owners: Map<string, string[]>, line: string, pkg: string): void {
  const path = line.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '' || path === '.') return;
  const list = owners.get(path);
  if (!list) owners.set(path, [pkg]);
  else if (!list.includes(pkg)) list.push(pkg);
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
  for (const format of Object.keys(OWNERSHIP) as FormatName[]) {
    if (!tree.exists(OWNERSHIP[format].marker)) continue;
    const packages = await FORMATS[format].inventory(root, () => {});
    return { format, packages, owners: OWNERSHIP[format].ownedFiles(tree) };
  }
  warn('no package database (of dpkg or pacman): every path is listed as owned by no package');
  return { packages: [], owners: new Map() };
}
