/**
 * Entering a user namespace (mount, pid, ipc, uts) in which the caller is
 * root. util-linux `unshare` creates the namespaces; kiln writes the id maps
 * with newuidmap/newgidmap while the child waits on a pipe (fd 3), then lets
 * it go. The pipe stays open: when kiln dies, the child sees EOF and stops.
 */
import { spawn, execFile, type ChildProcess, type StdioOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { readlink } from 'node:fs/promises';
import type { IdMapping, IdMapLine } from './idmap.ts';

const execFileAsync = promisify(execFile);

export interface NamespaceOptions {
  /** The command to run as root inside. */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Id mapping for an unprivileged caller; omit when kiln already runs as real root. */
  mapping?: IdMapping;
  /** stdin, stdout, stderr of the command (default: inherit all). */
  stdio?: ['inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore', 'inherit' | 'pipe' | 'ignore'];
  /** A new session (no terminal signals reach it; the caller decides when it stops). */
  detached?: boolean;
  /** Sent on the parent pipe right after the go-ahead (e.g. a JSON job line). */
  message?: string;
}

export class NamespaceError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NamespaceError';
  }
}

/** The fd on which a process started by spawnInNamespace sees kiln's pipe. */
export const PARENT_PIPE_FD = 3;

export const USERNS_HINT =
  'unprivileged user namespaces look disabled: allow them (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, or on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0), then run `kiln doctor`';

const WAIT_THEN_EXEC = 'read -r go <&3 && [ "$go" = go ] || exit 111; exec "$@"';

export interface NamespaceChild {
  child: ChildProcess;
  /** Resolves with the exit code (128+n for a signal). */
  exited: Promise<number>;
  /** The parent pipe: ending it tells the command to stop. */
  pipe: import('node:stream').Writable;
}

export async function spawnInNamespace(opts: NamespaceOptions): Promise<NamespaceChild> {
  const flags = ['--mount', '--pid', '--ipc', '--uts', '--fork', '--kill-child'];
  if (opts.mapping) flags.unshift('--user');
  const stdio: StdioOptions = [...(opts.stdio ?? ['inherit', 'inherit', 'inherit']), 'pipe'];
  const child = spawn('unshare', [...flags, '--', 'sh', '-c', WAIT_THEN_EXEC, 'kiln-ns', ...opts.argv], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio,
    detached: opts.detached ?? false,
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new NamespaceError('unshare not found', 'install util-linux (Debian/Ubuntu: util-linux, Fedora: util-linux-core, Arch: util-linux)', { cause: err }));
      else reject(err);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
  });
  exited.catch(() => {});
  const pipe = child.stdio[PARENT_PIPE_FD] as NodeJS.WritableStream & { on(e: string, f: () => void): void };
  pipe.on('error', () => {});
  if (opts.mapping && child.pid !== undefined) {
    try {
      await writeMaps(child, opts.mapping);
    } catch (err) {
      child.kill('SIGKILL');
      await exited.catch(() => {});
      throw err;
    }
  }
  pipe.write('go\n');
  if (opts.message !== undefined) pipe.write(opts.message);
  return { child, exited, pipe: pipe as unknown as import('node:stream').Writable };
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}

async function writeMaps(child: ChildProcess, mapping: IdMapping): Promise<void> {
  const pid = child.pid as number;
  // The maps can only be written once unshare(2) has run in the child.
  for (let waited = 0; !(await hasOwnUserNamespace(pid)); waited += 2) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new NamespaceError('cannot create a user namespace (unshare failed)', USERNS_HINT);
    }
    if (waited > 5000) throw new NamespaceError('unshare did not create a user namespace', 'run `kiln doctor` to check that user namespaces are allowed');
    await new Promise((r) => setTimeout(r, 2));
  }
  const args = (lines: IdMapLine[]) => [String(pid), ...lines.flatMap((l) => l.map(String))];
  try {
    await execFileAsync('newuidmap', args(mapping.uid));
    await execFileAsync('newgidmap', args(mapping.gid));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new NamespaceError('newuidmap/newgidmap not found', 'install them (Debian/Ubuntu: uidmap, Fedora: shadow-utils, Arch: shadow)', { cause: err });
    }
    throw new NamespaceError(`cannot map ids into the user namespace: ${(e.stderr ?? e.message).trim()}`, 'check /etc/subuid and /etc/subgid, and that newuidmap is setuid root (kiln doctor)', { cause: err });
  }
}

async function hasOwnUserNamespace(pid: number): Promise<boolean> {
  try {
    return (await readlink(`/proc/${pid}/ns/user`)) !== (await readlink('/proc/self/ns/user'));
  } catch {
    return false;
  }
}
