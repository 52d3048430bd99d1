/**
 * Mount points inside a tree for host files (e.g. a QEMU interpreter the host
 * registered without the F flag): created confined to the root, symlinks
 * resolved as a chroot would; `cleanup` removes what was created once the
 * command's mount namespace is gone.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Tree } from '../tree/index.ts';

export async function prepareBinds(root: string, paths: string[]): Promise<{ binds: { source: string; target: string }[]; cleanup: () => Promise<void> }> {
  const tree = new Tree(root);
  const created: string[] = [];
  const binds: { source: string; target: string }[] = [];
  for (const source of paths) {
    const parent = tree.mkdir(dirname(source), { onCreate: (path) => created.push(path) });
    // Where the image would find it (a final symlink followed inside the root).
    const target = tree.hostPath(`${parent.slice(root.length)}/${basename(source)}`).slice(root.length);
    if (!tree.stat(target)) {
      if (statSync(source).isDirectory()) tree.mkdir(target);
      else tree.write(target, '');
      created.push(target);
    }
    binds.push({ source, target: tree.hostPath(target) });
  }
  return {
    binds,
    cleanup: async () => {
      // Newest first: files before the directories that hold them.
      for (const path of created.reverse()) tree.remove(path, { recursive: true });
    },
  };
}
