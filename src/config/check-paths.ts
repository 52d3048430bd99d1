/**
 * Paths the user sets (keyrings, overlays) must exist and be readable, all
 * the way down for an overlay directory: found here, with the setting's
 * file:line, rather than as a failed read in the middle of a build.
 */
import { accessSync, constants, lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { SETTINGS, type SettingKey } from './settings.ts';
import type { RequiredPath } from './kinds.ts';
import type { Resolved } from './resolve.ts';
import type { Problems } from './layers.ts';

export function checkPaths(dir: string, resolved: Map<SettingKey, Resolved>, problems: Problems): void {
  for (const [key, r] of resolved) {
    const paths = r.fromUser ? (SETTINGS[key].kind.paths as ((v: unknown) => RequiredPath[]) | undefined)?.(r.value) ?? [] : [];
    for (const { path, type, wholeTree } of paths) {
      const full = resolve(dir, path);
      const where = `${r.origin}: ${key}`;
      let st: Stats | undefined;
      try {
        st = statSync(full, { throwIfNoEntry: false });
      } catch (err) {
        problems.push(`${where}: cannot look at ${path}: ${reason(err)}`);
        continue;
      }
      if (!st) problems.push(`${where}: ${path} does not exist${full !== path ? ` (looked for ${full})` : ''}`);
      else if (type === 'directory' && !st.isDirectory()) problems.push(`${where}: ${path} is not a directory`);
      else if (type === 'file' && st.isDirectory()) problems.push(`${where}: ${path} is a directory, not a file`);
      else {
        const unreadable = firstUnreadable(full, st, wholeTree ?? false);
        if (unreadable) problems.push(`${where}: cannot read ${unreadable.path === full ? path : unreadable.path}: ${unreadable.reason}`);
      }
    }
  }
}

/** The first file or directory at or below `abs` that cannot be read (directories: listed and entered); symlinks are not followed. */
function firstUnreadable(abs: string, st: Stats, wholeTree: boolean): { path: string; reason: string } | undefined {
  try {
    accessSync(abs, st.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch (err) {
    return { path: abs, reason: reason(err) };
  }
  if (!st.isDirectory() || !wholeTree) return undefined;
  for (const name of readdirSync(abs).sort()) {
    const child = join(abs, name);
    const inner = lstatSync(child);
    if (!inner.isDirectory() && !inner.isFile()) continue;
    const found = firstUnreadable(child, inner, true);
    if (found) return found;
  }
  return undefined;
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
}
