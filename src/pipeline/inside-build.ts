/**
 * The build inside the namespace: assemble the tree (format install), apply
 * the system settings, write the outputs. Runs as root of the namespace.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMATS } from '../formats/index.ts';
import type { InstallContext } from '../formats/types.ts';
import { writeOutputs } from '../outputs/index.ts';
import { runInRoot } from '../sandbox/index.ts';
import { CommandError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import { configureSystem } from './system.ts';
import type { BuildJob, Emulation } from './job.ts';
import { mountTmpfs, temporaries } from './worker.ts';
import { step } from './step.ts';

export async function runBuildJob(job: BuildJob, emit: Emit): Promise<void> {
  const { config } = job;
  if (config['build.workspace'] === 'tmpfs') await mountTmpfs(job.workDir);
  else temporaries.add(job.workDir);
  const root = join(job.workDir, 'root');
  await mkdir(root, { recursive: true, mode: 0o755 });
  const ctx: InstallContext = {
    root,
    plan: job.plan,
    blobs: job.blobs,
    config,
    emit,
    run: (argv, opts = {}) => runChecked(root, argv, job.emulation, emit, opts),
    foreign: job.emulation !== undefined,
  };
  await FORMATS[job.plan.format].install(ctx);
  await step(emit, 'system', () => configureSystem(ctx));
  await step(emit, 'output', () =>
    writeOutputs({
      root,
      formats: config['output.format'],
      directory: job.outputDir,
      name: config['output.name'],
      sourceDateEpoch: job.sourceDateEpoch,
      rootOnTmpfs: config['build.workspace'] === 'tmpfs',
      temporaries,
    }),
  );
  if (config['build.workspace'] !== 'tmpfs') {
    await rm(job.workDir, { recursive: true, force: true });
    temporaries.delete(job.workDir);
  }
}

export function emulationOptions(emulation: Emulation | undefined) {
  if (!emulation) return {};
  return {
    binfmt: { entry: emulation.entry, mode: emulation.mode },
    binds: emulation.bindInterpreter ? [{ source: emulation.entry.interpreter, target: emulation.entry.interpreter }] : [],
  };
}

/** Runs a command in the root; output lines become log events; failure is a CommandError with the tail. */
async function runChecked(
  root: string,
  argv: string[],
  emulation: Emulation | undefined,
  emit: Emit,
  opts: { env?: Record<string, string>; cwd?: string; source?: string; input?: string },
): Promise<void> {
  const tail: string[] = [];
  const source = opts.source ?? argv[0] ?? 'run';
  const status = await runInRoot({
    root,
    argv,
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input,
    ...emulationOptions(emulation),
    onLine: (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      emit({ kind: 'log', level: 'debug', source, message: line });
    },
  });
  if (status !== 0) throw new CommandError(`${source}: ${argv.join(' ')}`, status, null, tail);
}
