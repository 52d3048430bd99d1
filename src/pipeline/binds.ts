/**
 * Mount points inside a tree for host files (e.g. a QEMU interpreter the host
 * registered without the F flag): created confined to the root, symlinks
 * resolved as a chroot would; `cleanup` removes what was created once the
 * command's mount namespace is gone.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { resolveInRoot } from '../archive/index.ts';

export async function prepareBinds(root: string, paths: string[]): Promise<{ binds: { source: string; target: string }[]; cleanup: () => Promise<void> }> {
  const created: string[] = [];
  const binds: { source: string; target: string }[] = [];
  for (const source of paths) {
    const parent = resolveInRoot(root, dirname(source), { create: true, onCreate: (abs) => created.push(abs) });
    const target = resolveInRoot(root, `${parent.slice(root.length)}/${basename(source)}`);
    if (!existsSync(target)) {
      if (statSync(source).isDirectory()) await mkdir(target);
      else await writeFile(target, '');
      created.push(target);
    }
    binds.push({ source, target });
  }
  return {
    binds,
    cleanup: async () => {
      // Newest first: files before the directories that hold them.
      for (const path of created.reverse()) await rm(path, { recursive: true, force: true });
    },
  };
}
