/**
 * The inner side of a job, running as root of kiln's namespace (PID 1 of its
 * pid namespace: when it exits, every process it started dies with it, and
 * its mounts vanish with its mount namespace). It reads the job from the
 * parent pipe and stops, removing its temporaries, when that pipe closes.
 */
import { rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { PARENT_PIPE_FD } from '../sandbox/index.ts';
import { BuildError, CommandError, UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import type { Job } from './job.ts';
import type { WorkerFailure } from './enter.ts';
import { runBuildJob } from './inside-build.ts';
import { runShellJob } from './inside-shell.ts';

/**
 * The build's own umask, whatever the caller's (as mmdebstrap sets one): the
 * tree's directories, the files kiln writes into it and those the package
 * scripts and hooks create get the same modes under any umask (under 077, /
 * and /usr were 0700). Set here, for everything that makes or enters the
 * tree, and not for kiln's start: the cache and output directories the main
 * process creates keep the caller's umask (a private cache stays private).
 * The sandbox sets it again for commands in the tree.
 */
const TREE_UMASK = 0o022;

export async function workerMain(): Promise<never> {
  process.umask(TREE_UMASK);
  /** Paths to remove if the build is stopped (temporary outputs, work trees on disk): the job adds and removes them. */
  const temporaries = new Set<string>();
  const job = await readJob(temporaries);
  const emit: Emit = (event) => void process.stdout.write(JSON.stringify(event) + '\n');
  try {
    if (job.kind === 'build') await runBuildJob(job, emit, temporaries);
    else process.exitCode = await runShellJob(job);
    process.exit(process.exitCode ?? 0);
  } catch (err) {
    const e = err as Error & { hint?: string };
    const kind = err instanceof UserError ? 'user' : err instanceof BuildError ? 'build' : 'internal';
    const failure: WorkerFailure = {
      'kiln-error': {
        kind,
        message: e.message ?? String(err),
        hint: e.hint,
        ...(err instanceof CommandError ? { tail: err.tail, command: err.command } : {}),
        stack: e.stack,
      },
    };
    process.stdout.write(JSON.stringify(failure) + '\n');
    removeTemporaries(temporaries);
    process.exit(kind === 'user' ? 2 : 1);
  }
}

/**
 * Removes the temporaries. Every other process of the namespace is killed
 * first (we are its PID 1): a `cp` still writing into a temporary directory
 * would otherwise refill it while it is being removed.
 */
function removeTemporaries(temporaries: Set<string>): void {
  if (process.pid === 1) {
    try {
      process.kill(-1, 'SIGKILL');
    } catch {
      // ESRCH: nothing else runs
    }
  }
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const removeAll = (): void => {
    for (const path of temporaries) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmSync(path, { recursive: true, force: true });
          break;
        } catch (err) {
          // A killed process may not have stopped yet (ENOTEMPTY): wait and try again.
          if (attempt >= 50) throw err;
          Atomics.wait(pause, 0, 0, 20);
        }
      }
    }
  };
  removeAll();
  // An open(O_CREAT) already in the thread pool can create a temporary again after its removal:
  // no JavaScript runs while this thread waits, so nothing new starts; what was in flight lands and goes.
  Atomics.wait(pause, 0, 0, 50);
  removeAll();
  temporaries.clear();
}

/** Reads the job line; afterwards, EOF on the pipe means "stop now". */
function readJob(temporaries: Set<string>): Promise<Job> {
  // A socket, not fs.createReadStream: a blocking read in the thread pool would keep process.exit waiting.
  const pipe = new Socket({ fd: PARENT_PIPE_FD, readable: true, writable: false });
  return new Promise((resolve, reject) => {
    let buffer = '';
    let job: Job | undefined;
    pipe.on('data', (chunk) => {
      if (job) return;
      buffer += chunk.toString();
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      try {
        job = JSON.parse(buffer.slice(0, nl)) as Job;
        resolve(job);
      } catch (err) {
        reject(err);
      }
    });
    pipe.on('close', () => {
      if (!job) return reject(new Error('kiln closed the pipe before sending a job'));
      removeTemporaries(temporaries);
      process.exit(130);
    });
  });
}
