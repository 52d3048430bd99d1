/**
 * Running a command inside a root tree, from a process that is already root
 * in kiln's namespace. Each run gets its own user, mount, pid and network
 * namespace, so the /proc, /dev and /sys it sees vanish with it and any
 * daemon a script starts dies with it: nothing can stay mounted or running.
 * The tree is the command's whole filesystem (pivot_root, the host's root
 * detached): only the binds kiln chooses lead out of it, read-only.
 */
import { execFile, spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';

export interface BinfmtEntry {
  /** Name of the binfmt_misc entry, e.g. kiln-aarch64. */
  name: string;
  /** ELF header magic and mask, as \\xNN escapes (binfmt_misc's own syntax). */
  magic: string;
  mask: string;
  /** The static QEMU user emulator on the host. */
  interpreter: string;
}

export interface RootRunOptions {
  root: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Foreign architecture: how to run its binaries. */
  binfmt?: { entry: BinfmtEntry; mode: 'namespace' | 'host' };
  /** Give the command the terminal (kiln shell). */
  interactive?: boolean;
  /** Written to the command's standard input (when not interactive). */
  input?: string;
  /** Called with each output line (stdout and stderr) when not interactive. */
  onLine?: (line: string) => void;
  /**
   * Read-only bind mounts: host path -> absolute path of an existing file or
   * directory inside the root (the caller resolves and creates it safely).
   */
  binds?: { source: string; target: string }[];
  /**
   * Directories of the root (absolute paths inside it; the caller checks
   * that each component is a real directory) bound onto themselves,
   * writable, parents first: mount points for the command, as the image's
   * partitions are on the running system (scripts test them with mountpoint).
   */
  mountPoints?: string[];
  /** Bind mounts of host paths under the command's own /run (relative paths there); read-only unless `writable`. */
  runBinds?: { source: string; target: string; writable?: boolean }[];
  /**
   * binfmt_misc entries for this command only (e.g. a native interpreter for
   * #! scripts, found by path inside the root); namespace mode.
   */
  scriptBinfmt?: BinfmtEntry[];
  /** Keep the host's network (default: a network namespace of its own, with only a loopback that is down). */
  network?: boolean;
  /** RLIMIT_NPROC (soft and hard) for the command (default DEFAULT_PROCESS_LIMIT). */
  processLimit?: number;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Sizes of the tmpfs mounts every command gets (its own /dev, /dev/shm and /run). */
export const TMPFS_SIZES = { dev: '16m', shm: '256m', run: '256m' } as const;

/** Processes (threads count too) of root in the build's namespace while a command runs, unless the caller says otherwise. */
export const DEFAULT_PROCESS_LIMIT = 1024;

// $1 = root; the command follows. Runs as PID 1 of a fresh pid namespace, so
// whatever the command leaves running is killed when this script exits, and
// in a user namespace of its own (the build's ids mapped one to one): so the
// binfmt_misc instance the command sees is its own, and nothing a script
// registers there reaches kiln's processes outside.
// Everything is mounted with the host's tools, then the tree becomes the
// whole filesystem (pivot_root); from there on only shell builtins run until
// the tree's own /bin/sh. The host's root, stacked on top of the tree by
// pivot_root, is detached from outside (umount -N, by runInRoot) while this
// script waits on fd 3: no tool of the host runs with the tree as its root.
const SETUP = String.raw`
set -e
# The modes of what commands in the tree create must not depend on the caller's umask.
umask 022
root=$1; shift
# Our pid as the host-side /proc knows it: runInRoot writes our id maps, and later detaches the host's root (umount -N).
read -r outer_pid rest < /proc/self/stat
printf '%s\n' "$outer_pid" >&3
read -r answer <&3 || answer=
if [ "$answer" != mapped ]; then echo "kiln: cannot map ids into the command's user namespace: $answer" >&2; exit 125; fi
mount --bind "$root" "$root"
if [ -n "$KILN_MOUNT_POINTS" ]; then
  printf '%s\n' "$KILN_MOUNT_POINTS" | while read -r dir; do
    [ -n "$dir" ] || continue
    [ -d "$root$dir" ] && [ ! -L "$root$dir" ] || { echo "kiln: $dir is not a directory of the tree" >&2; exit 125; }
    mount --bind "$root$dir" "$root$dir"
  done
fi
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o mode=755,nosuid,size=$KILN_DEV_SIZE kiln-dev "$root/dev"
for n in null zero full random urandom tty; do
  : > "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"
done
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts" 2>/dev/null || true
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev,size=$KILN_SHM_SIZE kiln-shm "$root/dev/shm"
if [ -d "$root/sys" ]; then
  # A network namespace of our own lets us mount a sysfs of our own; with the host's network, its /sys read-only.
  if [ "$KILN_NETWORK" = host ] || ! mount -t sysfs -o ro,nosuid,nodev,noexec kiln-sys "$root/sys" 2>/dev/null; then
    mount --rbind /sys "$root/sys"
    # Each mount of the copy read-only (cgroup file systems included).
    while read -r _id _parent _dev _fsroot mnt _rest; do
      case $mnt in "$root/sys" | "$root/sys/"*) mount -o remount,bind,ro "$mnt" 2>/dev/null || true ;; esac
    done < /proc/self/mountinfo
  fi
fi
if [ -d "$root/run" ]; then mount -t tmpfs -o mode=755,nosuid,nodev,size=$KILN_RUN_SIZE kiln-run "$root/run"; mkdir -p "$root/run/lock"; fi
# Host files for this command under /run (a fresh tmpfs: nothing reaches the image).
if [ -n "$KILN_RUN_BINDS" ]; then
  printf '%s\n' "$KILN_RUN_BINDS" | while IFS='|' read -r src rel access; do
    [ -n "$src" ] || continue
    dst="$root/run/$rel"
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; : > "$dst"; fi
    if [ "$access" = rw ]; then mount --bind "$src" "$dst"; else mount --bind -o ro "$src" "$dst"; fi
  done
fi
if [ -n "$KILN_BINDS" ]; then
  printf '%s\n' "$KILN_BINDS" | while IFS='|' read -r src dst; do
    [ -n "$src" ] || continue
    mount --bind -o ro "$src" "$dst"
  done
fi
bfm=/proc/sys/fs/binfmt_misc
if [ -n "$KILN_BINFMT" ]; then
  if [ "$KILN_BINFMT_MODE" = namespace ]; then
    # The instance of this command's user namespace: empty, and gone with it.
    # F (fix binary): the kernel opens QEMU now, so it need not be in the tree.
    mount -t binfmt_misc kiln-binfmt "$root$bfm"
    printf '%s' "$KILN_BINFMT" > "$root$bfm/register"
  fi
fi
# Native interpreters for scripts.
if [ -n "$KILN_SCRIPT_BINFMT" ]; then
  [ -e "$root$bfm/register" ] || mount -t binfmt_misc kiln-binfmt "$root$bfm"
  printf '%s\n' "$KILN_SCRIPT_BINFMT" | while read -r line; do printf '%s' "$line" > "$root$bfm/register"; done
fi
unset KILN_MOUNT_POINTS KILN_SCRIPT_BINFMT KILN_BINFMT KILN_BINFMT_MODE KILN_BINFMT_NAME KILN_BINDS KILN_RUN_BINDS KILN_NETWORK KILN_DEV_SIZE KILN_SHM_SIZE KILN_RUN_SIZE
if [ -n "$KILN_CWD" ]; then cwd=$KILN_CWD; else cwd=/; fi
unset KILN_CWD
cd "$root"
pivot_root . .
# From here on: builtins only (the host's programs are out of reach once its root is gone).
printf 'pivoted\n' >&3
read -r answer <&3 || answer=
exec 3>&-
if [ "$answer" != detached ]; then echo "kiln: cannot detach the host's filesystem from the command's sandbox: $answer" >&2; exit 125; fi
cd /
status=0
/bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@" || status=$?
exit $status
`;

export function binfmtRegistration(entry: BinfmtEntry): string {
  // F: the kernel opens the interpreter now, so it need not exist in the root.
  return `:${entry.name}:M::${entry.magic}:${entry.mask}:${entry.interpreter}:FC`;
}

/**
 * Runs a command inside the root; resolves with its exit status. The tree is
 * its whole filesystem: a mount, pid and (unless `network`) network namespace
 * of its own, pivot_root into the tree, and the host's root detached.
 */
export function runInRoot(opts: RootRunOptions): Promise<number> {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: '/root',
    LC_ALL: 'C.UTF-8',
    ...(process.env.TERM ? { TERM: process.env.TERM } : {}),
    ...opts.env,
    KILN_DEV_SIZE: TMPFS_SIZES.dev,
    KILN_SHM_SIZE: TMPFS_SIZES.shm,
    KILN_RUN_SIZE: TMPFS_SIZES.run,
  };
  if (opts.network) env.KILN_NETWORK = 'host';
  if (opts.cwd) env.KILN_CWD = opts.cwd;
  if (opts.binds?.length) env.KILN_BINDS = opts.binds.map((b) => `${b.source}|${b.target}`).join('\n');
  if (opts.mountPoints?.length) env.KILN_MOUNT_POINTS = opts.mountPoints.join('\n');
  if (opts.runBinds?.length) env.KILN_RUN_BINDS = opts.runBinds.map((b) => `${b.source}|${b.target}|${b.writable ? 'rw' : 'ro'}`).join('\n');
  if (opts.scriptBinfmt?.length) {
    env.KILN_SCRIPT_BINFMT = opts.scriptBinfmt.map((e) => `:${e.name}:M::${e.magic}:${e.mask}:${e.interpreter}:`).join('\n');
  }
  if (opts.binfmt) {
    env.KILN_BINFMT = binfmtRegistration(opts.binfmt.entry);
    env.KILN_BINFMT_MODE = opts.binfmt.mode;
    env.KILN_BINFMT_NAME = opts.binfmt.entry.name;
  }
  const namespaces = ['--user', '--mount', '--pid', ...(opts.network ? [] : ['--net']), '--fork', '--kill-child'];
  const nproc = String(opts.processLimit ?? DEFAULT_PROCESS_LIMIT);
  const child = spawn('unshare', [...namespaces, '--', 'prlimit', `--nproc=${nproc}:${nproc}`, '--', 'sh', '-c', SETUP, 'kiln-root', opts.root, ...opts.argv], {
    env,
    stdio: [...(opts.interactive ? (['inherit', 'inherit', 'inherit'] as const) : ([opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] as const)), 'pipe'],
  });
  answerSetup(child.stdio[3] as Duplex);
  if (!opts.interactive && opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
  }
  if (!opts.interactive) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => opts.onLine?.(line));
    }
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 9 : 1)));
  });
}

/**
 * SETUP's two requests on fd 3. Its pid (as our /proc knows it): write the
 * id maps of its new user namespace, the ids of ours one to one. Then
 * "pivoted": the host's root, now stacked on top of the tree, is detached in
 * its mount namespace by the host's own umount, which enters that namespace
 * only for the umount(2) call itself.
 */
function answerSetup(channel: Duplex): void {
  channel.on('error', () => {});
  let pid: string | undefined;
  const lines = createInterface({ input: channel, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (pid === undefined) {
      pid = line;
      if (!/^\d+$/.test(pid)) return void channel.end(`no pid (${pid})\n`);
      mapOneToOne(pid).then(
        () => channel.write('mapped\n'),
        (err: Error) => channel.end(`${err.message}\n`),
      );
    } else if (line === 'pivoted') {
      execFile('umount', ['-N', `/proc/${pid}/ns/mnt`, '--lazy', '/'], { env: { PATH: process.env.PATH ?? DEFAULT_PATH, LC_ALL: 'C' } }, (err, _stdout, stderr) => {
        channel.end(err ? `${(stderr || err.message).replace(/\s+/g, ' ').trim()}\n` : 'detached\n');
      });
    }
  });
}

/** The ids of our user namespace, mapped to themselves in the child's. */
async function mapOneToOne(pid: string): Promise<void> {
  for (const kind of ['uid_map', 'gid_map']) {
    const ours = await readFile(`/proc/self/${kind}`, 'utf8');
    const lines = ours.trim().split('\n').map((l) => l.trim().split(/\s+/));
    await writeFile(`/proc/${pid}/${kind}`, lines.map(([inside, , count]) => `${inside} ${inside} ${count}`).join('\n') + '\n');
  }
}

/** `\\x7f\\x45...` (binfmt_misc syntax) as plain hex `7f45...`, as /proc shows it. */
export function escapesToHex(escaped: string): string {
  let hex = '';
  for (let i = 0; i < escaped.length; i++) {
    if (escaped.startsWith('\\x', i)) {
      hex += escaped.slice(i + 2, i + 4).toLowerCase();
      i += 3;
    } else {
      hex += escaped.charCodeAt(i).toString(16).padStart(2, '0');
    }
  }
  return hex;
}

/** Whether the host's binfmt_misc already runs this entry's binaries (fallback for kernels < 6.7). */
export function hostBinfmtFor(magicHex: string): { name: string; fixBinary: boolean; interpreter: string } | undefined {
  const dir = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(`${dir}/status`)) return undefined;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (name === 'register' || name === 'status') continue;
    let text: string;
    try {
      text = readFileSync(`${dir}/${name}`, 'utf8');
    } catch {
      continue;
    }
    if (!text.startsWith('enabled')) continue;
    const magic = /^magic ([0-9a-f]+)/m.exec(text)?.[1];
    if (magic !== magicHex) continue;
    const interpreter = /^interpreter (.+)$/m.exec(text)?.[1] ?? '';
    const flags = /^flags: (\S*)/m.exec(text)?.[1] ?? '';
    return { name, fixBinary: flags.includes('F'), interpreter };
  }
  return undefined;
}
