/**
 * Running a command inside a root tree, from a process that is already root
 * in kiln's namespace. Each run gets its own mount and pid namespace, so the
 * /proc, /dev and /sys it sees vanish with it and any daemon a script starts
 * dies with it: nothing can stay mounted or running.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

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
  /** Read-only bind mounts of host paths under the command's own /run (relative paths there). */
  runBinds?: { source: string; target: string }[];
  /**
   * binfmt_misc entries for this command only (e.g. a native interpreter for
   * #! scripts, found by path inside the root); namespace mode.
   */
  scriptBinfmt?: BinfmtEntry[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

// $1 = root; the command follows. Runs as PID 1 of a fresh pid namespace, so
// whatever the command leaves running is killed when this script exits.
const SETUP = String.raw`
set -e
# The modes of what commands in the tree create must not depend on the caller's umask.
umask 022
root=$1; shift
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755,nosuid,size=64m kiln-dev "$root/dev"
for n in null zero full random urandom tty; do
  : > "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"
done
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"; ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts" 2>/dev/null || true
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev kiln-shm "$root/dev/shm"
if [ -d "$root/sys" ]; then mount --rbind /sys "$root/sys"; fi
if [ -d "$root/run" ]; then mount -t tmpfs -o mode=755,nosuid,nodev kiln-run "$root/run"; mkdir -p "$root/run/lock"; fi
# Host files for this command under /run (a fresh tmpfs: nothing reaches the image).
if [ -n "$KILN_RUN_BINDS" ]; then
  printf '%s\n' "$KILN_RUN_BINDS" | while IFS='|' read -r src rel; do
    [ -n "$src" ] || continue
    dst="$root/run/$rel"
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; : > "$dst"; fi
    mount --bind -o ro "$src" "$dst"
  done
fi
if [ -n "$KILN_BINDS" ]; then
  printf '%s\n' "$KILN_BINDS" | while IFS='|' read -r src dst; do
    [ -n "$src" ] || continue
    mount --bind -o ro "$src" "$dst"
  done
fi
if [ -n "$KILN_BINFMT" ]; then
  bfm="$root/proc/sys/fs/binfmt_misc"
  if [ "$KILN_BINFMT_MODE" = namespace ]; then
    mount -t binfmt_misc kiln-binfmt "$bfm"
    # Commands may start side by side: the first registers, the others find it there.
    [ -e "$bfm/$KILN_BINFMT_NAME" ] || printf '%s' "$KILN_BINFMT" 2>/dev/null > "$bfm/register" || [ -e "$bfm/$KILN_BINFMT_NAME" ]
  fi
fi
# Entries for this command only (native interpreters for scripts), removed when it ends.
script_binfmt=$KILN_SCRIPT_BINFMT; unset KILN_SCRIPT_BINFMT
if [ -n "$script_binfmt" ]; then
  bfm="$root/proc/sys/fs/binfmt_misc"
  [ -e "$bfm/register" ] || mount -t binfmt_misc kiln-binfmt "$bfm"
  printf '%s\n' "$script_binfmt" | while read -r line; do
    name=$(printf '%s' "$line" | cut -d: -f2)
    [ ! -e "$bfm/$name" ] || echo -1 > "$bfm/$name"
    printf '%s' "$line" > "$bfm/register"
  done
fi
unset KILN_BINFMT KILN_BINFMT_MODE KILN_BINFMT_NAME KILN_BINDS KILN_RUN_BINDS
status=0
if [ -n "$KILN_CWD" ]; then cwd=$KILN_CWD; else cwd=/; fi
unset KILN_CWD
chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@" || status=$?
if [ -n "$script_binfmt" ]; then
  printf '%s\n' "$script_binfmt" | while read -r line; do
    name=$(printf '%s' "$line" | cut -d: -f2)
    [ ! -e "$bfm/$name" ] || echo -1 > "$bfm/$name"
  done
fi
exit $status
`;

export function binfmtRegistration(entry: BinfmtEntry): string {
  // F: the kernel opens the interpreter now, so it need not exist in the root.
  return `:${entry.name}:M::${entry.magic}:${entry.mask}:${entry.interpreter}:FC`;
}

/** Runs a command inside the root; resolves with its exit status. */
export function runInRoot(opts: RootRunOptions): Promise<number> {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: '/root',
    LC_ALL: 'C.UTF-8',
    ...(process.env.TERM ? { TERM: process.env.TERM } : {}),
    ...opts.env,
  };
  if (opts.cwd) env.KILN_CWD = opts.cwd;
  if (opts.binds?.length) env.KILN_BINDS = opts.binds.map((b) => `${b.source}|${b.target}`).join('\n');
  if (opts.runBinds?.length) env.KILN_RUN_BINDS = opts.runBinds.map((b) => `${b.source}|${b.target}`).join('\n');
  if (opts.scriptBinfmt?.length) env.KILN_SCRIPT_BINFMT = opts.scriptBinfmt.map((e) => `:${e.name}:M::${e.magic}:${e.mask}:${e.interpreter}:`).join('\n');
  if (opts.binfmt) {
    env.KILN_BINFMT = binfmtRegistration(opts.binfmt.entry);
    env.KILN_BINFMT_MODE = opts.binfmt.mode;
    env.KILN_BINFMT_NAME = opts.binfmt.entry.name;
  }
  const child = spawn(
    'unshare',
    ['--mount', '--pid', '--fork', '--kill-child', '--', 'sh', '-c', SETUP, 'kiln-root', opts.root, ...opts.argv],
    { env, stdio: opts.interactive ? 'inherit' : [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] },
  );
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
