/**
 * Watching the host around a build that is fed hostile input: a snapshot of
 * directories (type, mode, owner, size, content hash or link target, mtime
 * of every entry), the processes of a user and the host's mounts, taken
 * before and after, and the differences as readable lines.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
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

/**
 * With `group`, the processes left are that group's (one build's); without
 * one, every process of `user` that was not there when the watch began.
 */
export function watchHost(opts: { dirs: string[]; skip?: string[]; user: string; group?: ProcessGroup }): HostWatch {
  const files = snapshot(opts.dirs, opts.skip);
  const procs = new Set(processesOf(opts.user).map((l) => l.split(' ')[0]));
  const mounts = new Set(hostMounts());
  const left = () => (opts.group ? opts.group.members() : processesOf(opts.user).filter((l) => !procs.has(l.split(' ')[0])));
  return {
    changes: () => [
      ...snapshotChanges(files, snapshot(opts.dirs, opts.skip)),
      ...left().map((l) => `process left running: ${l}`),
      ...hostMounts()
        .filter((m) => !mounts.has(m))
        .map((m) => `mount left behind: ${m}`),
    ],
  };
}

/** Where a test running as root may make a control group of its own: cgroup v2 (unified or hybrid), else v1's pids hierarchy. */
const CGROUP_ROOTS = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup', '/sys/fs/cgroup/pids'];

export interface ProcessGroup {
  /** Moves a process (and so everything it starts afterwards) into the group. */
  add(pid: number): void;
  /** Processes still in the group, as "pid command" lines. */
  members(): string[];
  remove(): void;
}

/**
 * A control group that follows one build's processes wherever they are
 * reparented, so "nothing left running" is checked for that build alone, even
 * while other builds of the same user run. Undefined when none can be made
 * (not root, no writable cgroup file system).
 */
export function processGroup(name: string): ProcessGroup | undefined {
  for (const root of CGROUP_ROOTS) {
    const dir = `${root}/${name}-${process.pid}-${Date.now()}`;
    try {
      readFileSync(`${root}/cgroup.procs`);
      mkdirSync(dir);
    } catch {
      continue;
    }
    const members = () =>
      readFileSync(`${dir}/cgroup.procs`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((pid) => {
          let cmd = '';
          try {
            cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
          } catch {
            /* gone meanwhile */
          }
          return `${pid} ${cmd}`;
        });
    return {
      add: (pid) => writeFileSync(`${dir}/cgroup.procs`, `${pid}\n`),
      members,
      remove: () => {
        try {
          rmdirSync(dir);
        } catch {
          /* still in use: left for the host to reap */
        }
      },
    };
  }
  return undefined;
}
