/** The files GRUB's loaders put into the tree: the modules grub-install copies, written with the build's time. */
import { utimesSync } from 'node:fs';
import type { Tree } from '../tree/index.ts';

export const GRUB_DIRECTORY = '/boot/grub';

/** Copies the platform's modules and their lists from the tree's /usr/lib/grub/PLATFORM to /boot/grub/PLATFORM, as grub-install does. */
export function copyModules(tree: Tree, platform: string, files: Map<string, Uint8Array | string>): void {
  const from = `/usr/lib/grub/${platform}`;
  for (const name of tree.readdir(from).sort()) {
    if (/\.(mod|lst)$/.test(name)) files.set(`${GRUB_DIRECTORY}/${platform}/${name}`, tree.readBytes(`${from}/${name}`));
  }
}

/** Writes `files` into the tree (root's, 0644) and gives them and the directories they are in the build's time. */
export function writeTreeFiles(tree: Tree, files: Map<string, Uint8Array | string>, sourceDateEpoch: number): string[] {
  const dirs = new Set<string>();
  for (const [path, data] of files) {
    const dir = path.slice(0, path.lastIndexOf('/'));
    tree.mkdir(dir, { onCreate: (d) => dirs.add(d) });
    dirs.add(dir);
    tree.write(path, data, { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
  }
  for (const dir of dirs) utimesSync(tree.hostPath(dir), sourceDateEpoch, sourceDateEpoch);
  return [...files.keys()];
}
