/**
 * The prune stage's own work: removing the paths of `prune.remove` from the
 * tree. `*`, `?` and `[...]` match within one path component, `**` any
 * number of directories; symlinks are removed, never followed, so nothing
 * outside the tree is reached.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';

export async function pruneTree(root: string, patterns: readonly string[], emit: Emit): Promise<number> {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..') || parts.length === 0) throw new UserError(`prune.remove: "${pattern}" must name paths inside the image, without ".."`);
    const before = found.size;
    walk(root, '', parts, found);
    if (found.size === before) emit({ kind: 'log', level: 'debug', source: 'prune', message: `${pattern}: nothing matched` });
  }
  // Parents before children: removing a directory takes what is below it.
  const paths = [...found].sort();
  for (const rel of paths) await rm(join(root, rel), { recursive: true, force: true });
  if (paths.length) emit({ kind: 'log', level: 'info', source: 'prune', message: `removed ${paths.length} paths` });
  return paths.length;
}

function isRealDirectory(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function walk(abs: string, rel: string, parts: string[], found: Set<string>): void {
  if (parts.length === 0) {
    if (rel) found.add(rel);
    return;
  }
  const [part, ...rest] = parts as [string, ...string[]];
  if (part === '**') {
    walk(abs, rel, rest, found);
    for (const name of names(abs)) {
      const child = join(abs, name);
      if (isRealDirectory(child)) walk(child, join(rel, name), parts, found);
    }
    return;
  }
  const re = /[*?[]/.test(part) ? globRegExp(part) : undefined;
  for (const name of re ? names(abs).filter((n) => re.test(n)) : [part]) {
    const child = join(abs, name);
    if (rest.length === 0) {
      if (lstatSync(child, { throwIfNoEntry: false })) found.add(join(rel, name));
    } else if (isRealDirectory(child)) {
      walk(child, join(rel, name), rest, found);
    }
  }
}

function names(abs: string): string[] {
  try {
    return readdirSync(abs);
  } catch {
    return [];
  }
}

/** One path component's glob as a regular expression (a leading dot is matched only explicitly, as in the shell). */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(glob.startsWith('.') ? `^${re}$` : `^(?!\\.)${re}$`);
}
