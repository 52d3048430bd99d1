/**
 * The build inside the namespace: assemble the tree (format install), apply
 * the system settings, write the outputs. Runs as root of the namespace.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMATS } from '../formats/index.ts';
import type { InstallContext, RunInTreeOptions } from '../formats/types.ts';
import { writeOutputs } from '../outputs/index.ts';
import { runInRoot, type RootRunOptions } from '../sandbox/index.ts';
import { nativePerlFor, type NativeInterpreter } from './native-perl.ts';
import { prepareBinds } from './binds.ts';
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
    cacheDir: job.cacheDir,
    sourceDateEpoch: job.sourceDateEpoch,
    run: async (argv, opts = {}) => {
      const native = opts.packageScripts ? await nativeHelpers() : undefined;
      await withEmulation(root, job.emulation, native, (emulation) => runChecked(root, argv, emulation, emit, opts));
    },
  };
  // Decided once, when the first package scripts run (the tree's perl is unpacked by then).
  let native: Promise<NativeInterpreter | undefined> | undefined;
  function nativeHelpers(): Promise<NativeInterpreter | undefined> {
    native ??= (async () => {
      if (job.emulation?.mode !== 'namespace' || !config['build.native-perl']) return undefined;
      const perl = await nativePerlFor(root, job.cacheDir);
      if (perl) emit({ kind: 'log', level: 'info', message: `running the tree's Perl scripts with the host's perl ${perl.version} (build.native-perl)` });
      return perl;
    })();
    return native;
  }
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

let scriptEntries = 0;

type EmulationOptions = Pick<RootRunOptions, 'binfmt' | 'binds' | 'runBinds' | 'scriptBinfmt'>;

/**
 * Runs `fn` with the sandbox options for emulation: the QEMU entry, the
 * interpreter bound into the tree when the host registered it without the F
 * flag (removed after), and a native script interpreter if there is one.
 */
export async function withEmulation<T>(root: string, emulation: Emulation | undefined, native: NativeInterpreter | undefined, fn: (opts: EmulationOptions) => Promise<T>): Promise<T> {
  if (!emulation) return fn({});
  const prepared = await prepareBinds(root, emulation.bindInterpreter ? [emulation.entry.interpreter] : []);
  try {
    return await fn({
      binfmt: { entry: emulation.entry, mode: emulation.mode },
      binds: prepared.binds,
      runBinds: native?.runBinds ?? [],
      // A name of its own per command: commands running side by side each remove only theirs.
      scriptBinfmt: native ? [{ ...native.entry, name: `${native.entry.name}-${++scriptEntries}` }] : [],
    });
  } finally {
    await prepared.cleanup();
  }
}

/** Runs a command in the root; output lines become log events; failure is a CommandError with the tail. */
async function runChecked(
  root: string,
  argv: string[],
  emulation: EmulationOptions,
  emit: Emit,
  opts: RunInTreeOptions,
): Promise<void> {
  const tail: string[] = [];
  const source = opts.source ?? argv[0] ?? 'run';
  const status = await runInRoot({
    root,
    argv,
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input,
    ...emulation,
    onLine: (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      emit({ kind: 'log', level: 'debug', source, message: line });
    },
  });
  if (status !== 0) throw new CommandError(`${source}: ${argv.join(' ')}`, status, null, tail);
}
