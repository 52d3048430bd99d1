/**
 * Who owns a temporary in a shared cache, so that a later build can tell a
 * live owner from a dead one. Inside the build's namespace the worker is
 * PID 1, which is always alive there and meaningless outside: temporaries
 * are named after the host-side kiln process instead, as
 * `PID-STARTTIME-BOOT` (the start time, in clock ticks since boot, from
 * /proc/PID/stat, tells a reused PID from the original; the boot id tells
 * a PID of an earlier boot).
 */
import { readFileSync } from 'node:fs';

const OWNER = /^(\d+)-(\d+)-([0-9a-f]{8})$/;

/** The owner token of this process (call it on the host side and pass it into the namespace). */
export function currentOwner(): string {
  return `${process.pid}-${startTime('self')}-${bootId()}`;
}

/** Whether the process named by an owner token still runs. A malformed token has no live owner. */
export function ownerAlive(token: string): boolean {
  const m = OWNER.exec(token);
  if (!m) return false;
  const [, pid, start, boot] = m as unknown as [string, string, string, string];
  if (boot !== bootId()) return false;
  try {
    return startTime(pid) === start;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return false;
    // /proc mounted with hidepid: all that can be asked is whether the PID exists.
    try {
      process.kill(Number(pid), 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
function startTime(pid: string): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const value = fields[19];
  if (!value || !/^\d+$/.test(value)) throw Object.assign(new Error(`unreadable /proc/${pid}/stat`), { code: 'EINVAL' });
  return value;
}

let boot: string | undefined;
function bootId(): string {
  boot ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 8);
  return boot;
}
