/**
 * The outer side of a job: enter the namespace, hand the job over, relay the
 * worker's events, turn its error back into kiln's error classes, and stop it
 * cleanly on Ctrl-C (end the pipe: the worker removes its temporaries).
 */
import { createInterface } from 'node:readline';
import { planIdMapping, spawnInNamespace, NamespaceError, USERNS_HINT, type IdMapping, type NamespaceChild } from '../sandbox/index.ts';
import { BuildError, CommandError, UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import type { Job } from './job.ts';

/** The worker writes one such JSON line on stdout when it fails. */
export interface WorkerFailure {
  'kiln-error': { kind: 'user' | 'build' | 'internal'; message: string; hint?: string; tail?: string[]; command?: string; stack?: string };
}

/** The id mapping the namespace will need (none as real root); checked before any work starts. */
export function planNamespace(): IdMapping | undefined {
  if (process.getuid?.() === 0) return undefined;
  const planned = planIdMapping();
  if (!planned.mapping) throw new UserError(planned.missing ?? 'no subordinate ids', 'kiln needs 65536 subordinate uids and gids to give files their real owners');
  return planned.mapping;
}

/**
 * A build worker started before its job is known: the namespace is entered and the worker loads while the
 * host side resolves, fetches and verifies (the two overlap on a second core); runJob then hands it the job.
 * A build that needs no worker (up to date, or failed before) cancels it: it is killed before it read anything.
 */
export interface StartedWorker {
  /** The worker, for runJob; a taken worker is no longer cancelled. */
  take(): Promise<NamespaceChild>;
  /** Kills the worker unless runJob took it. */
  cancel(): Promise<void>;
}

function spawnWorker(mapping: IdMapping | undefined, interactive: boolean, message?: string): Promise<NamespaceChild> {
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot find kiln’s own entry point to start the worker');
  return spawnInNamespace({
    argv: [process.execPath, entry, '__worker'],
    // One malloc arena: the thread pool's decompression would otherwise leave ~50 MB
    // of freed arenas held through the long scripts that follow (measured: 162 -> 111 MB).
    env: { ...process.env, MALLOC_ARENA_MAX: '1' },
    mapping,
    stdio: interactive ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'inherit'],
    detached: !interactive,
    ...(message !== undefined ? { message } : {}),
  }).catch((err: unknown) => {
    if (err instanceof NamespaceError) throw new UserError(err.message, err.hint, { cause: err });
    throw err;
  });
}

/** Starts a (non-interactive) build worker now; its errors surface when runJob takes it. */
export function startWorker(mapping: IdMapping | undefined): StartedWorker {
  const ready = spawnWorker(mapping, false);
  ready.catch(() => {});
  let done = false;
  return {
    take() {
      done = true;
      return ready;
    },
    async cancel() {
      if (done) return;
      done = true;
      const ns = await ready.catch(() => undefined);
      if (!ns) return;
      try {
        if (ns.child.pid) process.kill(-ns.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      ns.pipe.end();
      await ns.exited.catch(() => {});
    },
  };
}

export async function runJob(job: Job, opts: { emit: Emit; interactive: boolean; mapping?: IdMapping; started?: StartedWorker }): Promise<number> {
  let failure: WorkerFailure['kiln-error'] | undefined;
  let ns: NamespaceChild;
  if (opts.started && !opts.interactive) {
    ns = await opts.started.take();
    ns.pipe.write(JSON.stringify(job) + '\n');
  } else {
    ns = await spawnWorker(opts.mapping ?? planNamespace(), opts.interactive, JSON.stringify(job) + '\n');
  }
  const { child, exited, pipe } = ns;
  if (child.stdout) {
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.startsWith('{')) return opts.emit({ kind: 'log', level: 'info', message: line });
      try {
        const parsed = JSON.parse(line);
        if (parsed['kiln-error']) failure = parsed['kiln-error'];
        else opts.emit(parsed);
      } catch {
        opts.emit({ kind: 'log', level: 'info', message: line });
      }
    });
  }
  let interrupted: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    interrupted = signal;
    pipe.end();
    setTimeout(() => {
      try {
        if (child.pid) process.kill(opts.interactive ? child.pid : -child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 10_000).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => (opts.interactive ? undefined : stop(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  let code: number;
  try {
    code = await exited;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    pipe.end();
  }
  if (interrupted) throw new BuildError(`interrupted by ${interrupted}`, 'nothing was left behind; run the build again to finish it');
  if (failure) throw rebuildError(failure);
  if (code === 111) throw new UserError('the namespace did not start', USERNS_HINT);
  if (code !== 0 && !opts.interactive) throw new BuildError(`the build worker exited with status ${code}`);
  return code;
}

/** The worker's error as the same kind of error on this side (a bug stays a bug). */
function rebuildError(f: WorkerFailure['kiln-error']): Error {
  const err =
    f.kind === 'user'
      ? new UserError(f.message, f.hint)
      : f.kind === 'internal'
        ? new Error(f.message)
        : f.tail
          ? new CommandError(f.command ?? 'command', null, null, f.tail)
          : new BuildError(f.message, f.hint);
  err.message = f.message;
  if (f.stack) err.stack = f.stack;
  return err;
}
