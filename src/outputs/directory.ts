/**
 * The directory output: the tree itself. It is moved into place when the
 * workspace is on disk (so it takes the tree away), copied from a tmpfs.
 *
 * A rebuild into a directory an earlier build left updates that directory
 * rather than copying the whole tree again, when rsync is on the host: the
 * old directory is moved to the temporary name (so the final name never
 * holds a half-updated tree), rsync makes it the tree (contents compared by
 * checksum, since kiln clamps most times to SOURCE_DATE_EPOCH and a file
 * can change without its size or time changing; owners by number, hard
 * links, ACLs and xattrs), and then every path's type, mode, owner, size,
 * times, link count, hard-link group, device number and symlink target is
 * compared with the tree's. Unchanged files keep their inodes, so a
 * rebuild writes only what changed: on a filesystem where creating inodes
 * is slow (ext4 without a journal scans past every inode freed in the last
 * minutes, which an earlier output's removal just freed) this is most of
 * the output's time. Anything rsync cannot do, or any difference left,
 * and the directory is written anew with `cp -a`, as a first build is.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emit } from '../util/events.ts';
import { findOnPath } from '../util/path.ts';
import { run } from '../util/run.ts';
import { CP } from './host-tools.ts';
import type { OutputWriter } from './writer.ts';

export const directoryWriter: OutputWriter<never> = {
  fileName: (name) => name,
  tools: [CP],
  from: [],
  takesTree: true,
  write: async ({ root, tmp, previous, rootOnTmpfs, emit }) => {
    if (!rootOnTmpfs) return rename(root, tmp);
    if (previous !== undefined && (await updatePrevious(root, previous, tmp, emit))) return;
    await run('cp', ['-a', '--reflink=auto', root, tmp]);
  },
};

/** rsync's arguments making `to` the tree `from` is, changed files only. */
export function rsyncArgs(from: string, to: string): string[] {
  return [
    '--archive',
    '--hard-links',
    '--acls',
    '--xattrs',
    '--atimes',
    '--numeric-ids',
    '--checksum',
    '--delete',
    '--no-inc-recursive',
    '--stats',
    `${from}/`,
    `${to}/`,
  ];
}

/** Makes the directory at `previous` the tree at `tmp` (true), or leaves nothing at `tmp` (false: copy anew). */
async function updatePrevious(root: string, previous: string, tmp: string, emit: Emit): Promise<boolean> {
  const rsync = findOnPath('rsync');
  const st = await lstat(previous).catch(() => undefined);
  if (!rsync || !st?.isDirectory()) return false;
  await rename(previous, tmp);
  try {
    const stats = await run(rsync, rsyncArgs(root, tmp));
    const differences = compareTrees(root, tmp);
    if (differences.length === 0) {
      const transferred = /regular files transferred: ([\d,]+)/.exec(stats)?.[1]?.replace(/,/g, '') ?? '?';
      emit({ kind: 'log', level: 'info', source: 'output', message: `updated the earlier directory output in place (rsync: ${transferred} files written)` });
      return true;
    }
    emit({ kind: 'log', level: 'debug', source: 'output', message: `the updated directory output still differs from the tree (${differences.slice(0, 3).join('; ')}): copying it anew` });
  } catch (err) {
    emit({ kind: 'log', level: 'debug', source: 'output', message: `updating the earlier directory output failed (${(err as Error).message.split('\n')[0]}): copying it anew` });
  }
  await rm(tmp, { recursive: true, force: true });
  return false;
}

/**
 * The paths where `copy` is not what `cp -a` of `tree` would make (every
 * stat fact but the access time and the inode numbers, hard-link groups
 * included; file contents are rsync's checksum's to compare), at most a few.
 */
export function compareTrees(tree: string, copy: string, limit = 10): string[] {
  const out: string[] = [];
  const firstOfInode = [new Map<bigint, string>(), new Map<bigint, string>()] as const;
  const walk = (rel: string): void => {
    if (out.length >= limit) return;
    const a = lstatSync(join(tree, rel), { bigint: true });
    const b = lstatSync(join(copy, rel), { bigint: true, throwIfNoEntry: false });
    const name = rel || '.';
    if (!b) return void out.push(`${name}: missing`);
    const fields: [string, bigint, bigint][] = [
      ['mode', a.mode, b.mode],
      ['owner', a.uid, b.uid],
      ['group', a.gid, b.gid],
      ['modification time', a.mtimeNs, b.mtimeNs],
    ];
    if (!a.isDirectory()) fields.push(['size', a.size, b.size], ['link count', a.nlink, b.nlink]);
    if (a.isCharacterDevice() || a.isBlockDevice()) fields.push(['device', a.rdev, b.rdev]);
    for (const [what, x, y] of fields) if (x !== y) return void out.push(`${name}: ${what} ${y} instead of ${x}`);
    if (a.isSymbolicLink() && readlinkSync(join(tree, rel)) !== readlinkSync(join(copy, rel))) return void out.push(`${name}: symlink target`);
    if (a.isFile() && a.nlink > 1n) {
      const group = (i: 0 | 1, ino: bigint) => firstOfInode[i].get(ino) ?? (firstOfInode[i].set(ino, name), name);
      if (group(0, a.ino) !== group(1, b.ino)) return void out.push(`${name}: hard-link group`);
    }
    if (!a.isDirectory()) return;
    const names = readdirSync(join(tree, rel));
    const copied = readdirSync(join(copy, rel));
    if (copied.length !== names.length) return void out.push(`${name}: ${copied.length} entries instead of ${names.length}`);
    // Hard-link groups are named by the first path the walk meets, so both sides are walked in one order.
    for (const n of names.sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk('');
  return out;
}
