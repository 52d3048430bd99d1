/**
 * `kiln shell --save`: what a shell changed in a throw-away copy of a tree,
 * as an overlay layer (overlay-layers.ts). Paths new or changed are written
 * with their owners, modes, times (none after the build's
 * SOURCE_DATE_EPOCH), links and extended attributes (GNU tar, as
 * checkpoints are), the same bytes for the same change; a path removed, or replaced by another type of file,
 * becomes an empty `.wh.NAME` beside it, listed first. The copy is made
 * with those whiteout files in it, which is why it must be a throw-away.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Tree } from '../tree/index.ts';
import { CommandError } from '../util/errors.ts';
import { treeChanges, type TreeState } from './checkpoints.ts';
import { WHITEOUT } from './overlay-layers.ts';

/** Writes the layer to `out`; returns how many paths it changed and removed (none of either: nothing is written). */
export async function writeShellLayer(root: string, before: TreeState, after: TreeState, out: string, sourceDateEpoch: number): Promise<{ changed: number; removed: number }> {
  const { changed, deleted } = treeChanges(before, after);
  // A directory only touched because something in it changed is in `changed` too; what counts is what else is.
  const real = [...changed].filter((rel) => rel !== '' && before.get(rel) !== after.get(rel));
  if (!real.length && !deleted.length) return { changed: 0, removed: 0 };
  const tree = new Tree(root);
  const whiteouts = deleted.map((rel) => {
    const slash = rel.lastIndexOf('/');
    const name = slash < 0 ? `${WHITEOUT}${rel}` : `${rel.slice(0, slash)}/${WHITEOUT}${rel.slice(slash + 1)}`;
    tree.write(name, '', { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
    return name;
  });
  const names = [...whiteouts.sort(), ...[...changed].filter((rel) => rel !== '').sort()];
  const child = spawn(
    'tar',
    // Reproducible: the names in byte order (given so, no recursion), no times after the build's SOURCE_DATE_EPOCH, numeric
    // owners, and pax headers named without tar's process id (exthdr.name) and without atime and ctime.
    [
      '--create', '--file=-', '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', `--mtime=@${sourceDateEpoch}`, '--clamp-mtime',
      '--xattrs', '--xattrs-include=*', '--numeric-owner', '--directory', root, '--no-recursion', '--null', '--verbatim-files-from', '--files-from=-',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const errors: string[] = [];
  child.stderr.on('data', (d: Buffer) => errors.push(d.toString()));
  child.stdin.end(names.map((n) => `./${n}\0`).join(''));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => (status === 0 ? resolve() : reject(new CommandError('tar (kiln shell --save)', status, signal, errors.join('').trim().split('\n').slice(-10)))));
  });
  await Promise.all([done, pipeline(child.stdout, createWriteStream(out))]);
  return { changed: real.length, removed: deleted.length };
}
