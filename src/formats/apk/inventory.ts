/** What is installed in an Alpine tree, read from /lib/apk/db/installed; and who owns which path (kiln diff). */
import { Tree } from '../../tree/index.ts';
import type { InstalledPackage, PackageDatabase } from '../types.ts';
import { parseRecords } from './apkindex.ts';
import { apkDependencies } from './installed-relations.ts';
import { INSTALLED } from './installed-db.ts';

export async function inventoryApk(root: string): Promise<InstalledPackage[]> {
  const tree = new Tree(root);
  const text = tree.readTextIfExists(INSTALLED);
  if (text === undefined) throw new Error(`no /${INSTALLED} in the image`);
  return parseRecords(text).flatMap((r) => {
    const one = (k: string) => r.get(k)?.[0];
    const name = one('P');
    const version = one('V');
    if (!name || !version) return [];
    const size = Number(one('I'));
    const license = one('L');
    return [{
      name,
      version,
      architecture: one('A') ?? 'noarch',
      source: one('o') ?? name,
      installedSize: Number.isFinite(size) ? size : undefined,
      licenses: license ? [license] : [],
      ...(one('U') ? { homepage: one('U') } : {}),
    }];
  });
}

/** Each owned path, from the F: and R: lines of the installed database. */
function ownedFiles(root: string): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  const text = new Tree(root).readTextIfExists(INSTALLED) ?? '';
  let pkg = '';
  let dir = '';
  const add = (path: string) => {
    const list = owners.get(path) ?? [];
    if (!list.includes(pkg)) list.push(pkg);
    owners.set(path, list);
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('P:')) pkg = line.slice(2);
    else if (line.startsWith('F:')) {
      dir = line.slice(2);
      if (dir) add(dir);
    } else if (line.startsWith('R:')) add(dir ? `${dir}/${line.slice(2)}` : line.slice(2));
  }
  return owners;
}

export const apkDatabase: PackageDatabase = {
  marker: INSTALLED,
  paths: /^lib\/apk\/db\/installed$/,
  ownedFiles,
  // installed, scripts.tar, triggers, lock: apk's state.
  directory: 'lib/apk/db',
  dependencies: apkDependencies,
};
