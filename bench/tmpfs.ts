/**
 * How much a build holds in tmpfs mounts of its own (kiln's default
 * workspace): memory that is in no process's RSS. For each mount namespace
 * of the measured processes other than the bench's own, the tmpfs mounts not
 * also present here are read through /proc/PID/root and their used space
 * summed, each tmpfs instance (device number) once.
 */
import { readFileSync, readlinkSync, statfsSync } from 'node:fs';

interface TmpfsMount {
  dev: string;
  mountpoint: string;
}

/** `\040`-style escapes in mountinfo paths. */
const unescape = (path: string) => path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

function tmpfsMounts(pid: number | 'self'): TmpfsMount[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  const mounts: TmpfsMount[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right || right.split(' ')[0] !== 'tmpfs') continue;
    const fields = left.split(' ');
    mounts.push({ dev: fields[2] as string, mountpoint: unescape(fields[4] as string) });
  }
  return mounts;
}

function mountNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Measures the private tmpfs usage of a set of processes; create one per run. */
export class PrivateTmpfs {
  readonly #ownNamespace = mountNamespace('self');
  readonly #hostDevices = new Set(tmpfsMounts('self').map((m) => m.dev));

  /** KiB used, summed over the tmpfs mounts that only `pids`' namespaces have. */
  usedKiB(pids: number[]): number {
    const seenNamespaces = new Set<string>();
    const seenDevices = new Set<string>();
    let used = 0;
    for (const pid of pids) {
      const ns = mountNamespace(pid);
      if (!ns || ns === this.#ownNamespace || seenNamespaces.has(ns)) continue;
      seenNamespaces.add(ns);
      for (const mount of tmpfsMounts(pid)) {
        if (this.#hostDevices.has(mount.dev) || seenDevices.has(mount.dev)) continue;
        try {
          const fs = statfsSync(`/proc/${pid}/root${mount.mountpoint}`);
          used += ((fs.blocks - fs.bfree) * fs.bsize) / 1024;
          seenDevices.add(mount.dev);
        } catch {
          /* gone meanwhile, or not reachable */
        }
      }
    }
    return used;
  }
}
