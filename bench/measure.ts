/**
 * Running one timed build as the unprivileged user and measuring it:
 * - wall clock, from spawn to exit;
 * - `/usr/bin/time -f %M` around the tool: the largest max-RSS of a single
 *   process among the tool and the descendants it waited for (wait4 rusage);
 * - the whole process tree's RSS, summed, sampled from /proc every 100 ms
 *   (shared pages counted once per process, so this errs high), and its PSS
 *   (smaps_rollup: shared pages divided among their users, so it adds up);
 * - the used space of the tmpfs mounts private to the tree's mount
 *   namespaces (kiln's workspace): memory, but in no process's RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { PrivateTmpfs } from './tmpfs.ts';

export const isRoot = process.getuid?.() === 0;
const PAGE = 4096;

export interface RunResult {
  code: number;
  wallSeconds: number;
  /** /usr/bin/time %M, in KiB. */
  topMaxRssKiB?: number;
  /** Peak of the summed RSS of the process tree (sampled), in KiB. */
  treePeakRssKiB: number;
  /** Peak of the summed PSS of the process tree (sampled), in KiB. */
  treePeakPssKiB: number;
  /** Peak of the used space of the tree's private tmpfs mounts, in KiB. */
  tmpfsPeakKiB: number;
  /** Peak of (tree PSS without tmpfs-backed pages + private tmpfs) in one sample, in KiB. */
  totalPeakKiB: number;
  /** Seconds per step, as the tool's log reports them (kiln's steps; the pacman side's phases). */
  steps?: Record<string, number>;
  /** Set when the run exited 0 but its output failed the bench's checks: left out of the medians. */
  problem?: string;
}

export interface RunSpec {
  user: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr go here. */
  logFile: string;
  /** /usr/bin/time writes %M here (must be writable by the user). */
  timeFile: string;
  timeoutSeconds: number;
}

/** The child being measured, so that a signal handler can stop it. */
export let current: ChildProcess | undefined;

/** PSS, and the part of it that is shmem/tmpfs-backed (KiB). */
function pssKiB(pid: number): { pss: number; shmem: number } {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pss: field('Pss'), shmem: field('Pss_Shmem') };
  } catch {
    return { pss: 0, shmem: 0 }; // exited, or not ours to read
  }
}

export interface TreeMemory {
  pids: number[];
  rss: number;
  pss: number;
  pssShmem: number;
}

/** Summed RSS and PSS (KiB) of `root`'s descendants, leaving out the runuser/env/time wrappers. */
export function treeMemoryKiB(root: number): TreeMemory {
  const children = new Map<number, number[]>();
  const info = new Map<number, { comm: string; rss: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(fields[1]);
    info.set(pid, { comm, rss: Number(fields[21]) * (PAGE / 1024) });
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const tree: TreeMemory = { pids: [], rss: 0, pss: 0, pssShmem: 0 };
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    const p = info.get(pid);
    if (p && !['runuser', 'time', 'env'].includes(p.comm)) {
      const { pss, shmem } = pssKiB(pid);
      tree.pids.push(pid);
      tree.rss += p.rss;
      tree.pss += pss;
      tree.pssShmem += shmem;
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** Runs `spec.argv` as `spec.user` (through runuser when root) under /usr/bin/time, measuring it. */
export function measure(spec: RunSpec): Promise<RunResult> {
  const envArgs = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const inner = ['env', '-i', ...envArgs, '/usr/bin/time', '-f', '%M', '-o', spec.timeFile, ...spec.argv];
  const [command, ...args] = isRoot ? ['runuser', '-u', spec.user, '--', ...inner] : inner;
  rmSync(spec.timeFile, { force: true }); // a stale figure must not pass for this run's
  const log = openSync(spec.logFile, 'w');
  const tmpfs = new PrivateTmpfs();
  let treePeak = 0;
  let pssPeak = 0;
  let totalPeak = 0;
  let tmpfsPeak = 0;
  const started = performance.now();
  // A process group of its own, signalled whole: /usr/bin/time dies of a SIGTERM without passing it on,
  // which would leave the tool it measures running.
  const child = spawn(command as string, args, { cwd: spec.cwd, stdio: ['ignore', log, log], detached: true });
  current = child;
  closeSync(log);
  const sample = () => {
    if (child.pid === undefined) return;
    const tree = treeMemoryKiB(child.pid);
    treePeak = Math.max(treePeak, tree.rss);
    pssPeak = Math.max(pssPeak, tree.pss);
    const used = tmpfs.usedKiB(tree.pids);
    tmpfsPeak = Math.max(tmpfsPeak, used);
    // tmpfs pages that processes map (programs run from the tree) are in both: count them once.
    totalPeak = Math.max(totalPeak, tree.pss - tree.pssShmem + used);
  };
  const sampler = setInterval(sample, 100);
  const timer = setTimeout(() => killGroup(child, 'SIGTERM'), spec.timeoutSeconds * 1000);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearInterval(sampler);
      clearTimeout(timer);
      current = undefined;
      reject(err);
    });
    child.once('exit', (code, signal) => {
      const wallSeconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      clearTimeout(timer);
      current = undefined;
      let topMaxRssKiB: number | undefined;
      try {
        const last = readFileSync(spec.timeFile, 'utf8').trim().split('\n').pop() ?? '';
        if (/^\d+$/.test(last)) topMaxRssKiB = Number(last);
      } catch {
        /* time did not write it (killed) */
      }
      resolve({ code: code ?? (signal ? 128 : 1), wallSeconds, topMaxRssKiB, treePeakRssKiB: treePeak, treePeakPssKiB: pssPeak, tmpfsPeakKiB: tmpfsPeak, totalPeakKiB: totalPeak });
    });
  });
}

/** Stops the child being measured, if any, and waits (up to 15 s) for it to exit. */
export function stopCurrent(): Promise<void> {
  const child = current;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    let poll: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      clearInterval(poll);
      killGroup(child, 'SIGKILL');
      resolve();
    }, 15_000);
    // runuser exits when time does; the tool may still be cleaning up: wait until the group is gone.
    child.once('exit', () => {
      poll = setInterval(() => {
        if (groupAlive(child)) return;
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }, 100);
    });
    killGroup(child, 'SIGTERM');
  });
}

function groupAlive(child: ChildProcess): boolean {
  try {
    return child.pid !== undefined && process.kill(-child.pid, 0);
  } catch {
    return false;
  }
}

/** Signals the measured command's whole process group (runuser, time and the tool). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export interface TarPackages {
  /** Package: stanzas in var/lib/dpkg/status. */
  packages: number;
  /** Of which "Status: install ok installed". */
  installed: number;
}

/** Counts the packages recorded in an output tar's dpkg status file. */
export async function countPackages(tar: string): Promise<TarPackages | undefined> {
  for (const member of ['./var/lib/dpkg/status', 'var/lib/dpkg/status']) {
    const text = await new Promise<string | undefined>((resolve) => {
      const child = spawn('tar', ['-xOf', tar, member], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.once('error', () => resolve(undefined));
      child.once('close', (code) => resolve(code === 0 ? out : undefined));
    });
    if (text !== undefined) {
      return {
        packages: (text.match(/^Package:/gm) ?? []).length,
        installed: (text.match(/^Status: install ok installed$/gm) ?? []).length,
      };
    }
  }
  return undefined;
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
