/**
 * The outer side of a job: enter the namespace, hand the job over, relay the
 * worker's events, turn its error back into kiln's error classes, and stop it
 * cleanly on Ctrl-C (end the pipe: the worker removes its temporaries).
 */
import { createInterface } from 'node:readline';
import { planIdMapping, spawnInNamespace, NamespaceError, USERNS_HINT, type IdMapping } from '../sandbox/index.ts';
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

export async function runJob(job: Job, opts: { emit: Emit; interactive: boolean; mapping?: IdMapping }): Promise<number> {
  const mapping = opts.mapping ?? planNamespace();
  const entry = process.argv[1];
  if (!entry) throw new Error('cannot find kiln’s own entry point to start the worker');
  let failure: WorkerFailure['kiln-error'] | undefined;
  let ns;
  try {
    ns = await spawnInNamespace({
      argv: [process.execPath, entry, '__worker'],
      // One malloc arena: the thread pool's decompression would otherwise leave ~50 MB
      // of freed arenas held through the long scripts that follow (measured: 162 -> 111 MB).
      env: { ...process.env, MALLOC_ARENA_MAX: '1' },
      mapping,
      stdio: opts.interactive ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'inherit'],
      detached: !opts.interactive,
      message: JSON.stringify(job) + '\n',
    });
  } catch (err) {
    if (err instanceof NamespaceError) throw new UserError(err.message, err.hint, { cause: err });
    throw err;
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
