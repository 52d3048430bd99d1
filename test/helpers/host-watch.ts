/**
 * Watching the host around a build that is fed hostile input: a snapshot of
 * directories (type, mode, owner, size, content hash or link target, mtime
 * of every entry), the processes of a user and the host's mounts, taken
 * before and after, and the differences as readable lines.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export type Snapshot = Map<string, string>;

/** Every entry under `dirs` (not following symlinks), minus the `skip` subtrees. */
export function snapshot(dirs: string[], skip: string[] = []): Snapshot {
  const out: Snapshot = new Map();
  const walk = (path: string): void => {
    if (skip.some((s) => path === s || path.startsWith(`${s}/`))) return;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return;
    }
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(path)}`;
    else if (st.isFile()) what += ` ${st.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    out.set(path, what);
    if (st.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  for (const dir of dirs) walk(dir);
  return out;
}

/** What changed between two snapshots, one line each (empty: nothing). */
export function snapshotChanges(before: Snapshot, after: Snapshot): string[] {
  const changes: string[] = [];
  for (const [path, what] of before) {
    const now = after.get(path);
    if (now === undefined) changes.push(`removed ${path}`);
    else if (now !== what) changes.push(`changed ${path}: ${what} => ${now}`);
  }
  for (const path of after.keys()) if (!before.has(path)) changes.push(`created ${path}`);
  return changes;
}

/** The user's processes, as "pid command" lines. */
export function processesOf(user: string): string[] {
  const r = spawnSync('pgrep', ['-a', '-u', user], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** The host's mount table (this process's mount namespace). */
export function hostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3, 5).join(' '));
}

export interface HostWatch {
  /** Every difference since the watch began: files, processes, mounts. */
  changes(): string[];
}

export function watchHost(opts: { dirs: string[]; skip?: string[]; user: string }): HostWatch {
  const files = snapshot(opts.dirs, opts.skip);
  const procs = new Set(processesOf(opts.user).map((l) => l.split(' ')[0]));
  const mounts = new Set(hostMounts());
  return {
    changes: () => [
      ...snapshotChanges(files, snapshot(opts.dirs, opts.skip)),
      ...processesOf(opts.user)
        .filter((l) => !procs.has(l.split(' ')[0]))
        .map((l) => `process left running: ${l}`),
      ...hostMounts()
        .filter((m) => !mounts.has(m))
        .map((m) => `mount left behind: ${m}`),
    ],
  };
}
