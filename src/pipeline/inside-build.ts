/**
 * The build inside the namespace, as root of it: restore the checkpoint to
 * start from, run the remaining tree stages (each followed by its hooks and,
 * where it is stored, its checkpoint), then write the outputs with their
 * manifest and SBOM.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMATS } from '../formats/index.ts';
import type { InstallContext, RunInTreeOptions } from '../formats/types.ts';
import { imageRecords, writeOutputs } from '../outputs/index.ts';
import { runInRoot, type RootRunOptions } from '../sandbox/index.ts';
import { nativePerlFor, type NativeInterpreter } from './native-perl.ts';
import { prepareBinds } from './binds.ts';
import { BuildError, CommandError } from '../util/errors.ts';
import { outputLines, type Emit } from '../util/events.ts';
import { configureServices, configureSystem } from './system.ts';
import { applyUsers } from './users.ts';
import { copyOverlay } from './overlay.ts';
import type { BuildJob, Emulation } from './job.ts';
import { mountTmpfs, temporaries } from './worker.ts';
import { step } from './step.ts';
import { CheckpointStore, treeChanges, treeState, type TreeState } from './checkpoints.ts';
import { runHooks, settingsEnvironment, type HookRunContext } from './hooks.ts';
import { shortKey, type TreeStage } from './stages.ts';
import { pruneTree } from './prune.ts';
import { packageReader } from './package-reader.ts';
import { BlobStore } from '../repo/index.ts';

export async function runBuildJob(job: BuildJob, emit: Emit): Promise<void> {
  const { config } = job;
  if (config['build.workspace'] === 'tmpfs') await mountTmpfs(job.workDir);
  else temporaries.add(job.workDir);
  const root = join(job.workDir, 'root');
  const fragments = join(job.workDir, 'manifest.d');
  await mkdir(root, { recursive: true, mode: 0o755 });
  await mkdir(fragments, { recursive: true });
  const ctx: InstallContext = {
    root,
    plan: job.plan,
    blobs: job.blobs,
    readPackage: packageReader(new BlobStore(job.downloadDir), emit),
    config,
    emit,
    cacheDir: job.cacheDir,
    sourceDateEpoch: job.sourceDateEpoch,
    run: async (argv, opts = {}) => {
      const native = opts.packageScripts ? await nativeHelpers() : undefined;
      const sandbox = { network: config['build.network'], processLimit: config['build.process-limit'] };
      await withEmulation(root, job.emulation, native, (emulation) => runChecked(root, argv, { ...emulation, ...sandbox }, emit, opts));
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
  const store = new CheckpointStore(job.checkpointDir, job.checkpointOwner);
  // The last stored state: the next checkpoint holds only what changed since.
  let stored: { key: string; state: TreeState } | undefined;
  if (job.resume) {
    const { key, stage } = job.resume;
    const meta = await step(emit, 'restore', () => store.restore(key, root), () => `${stage} checkpoint ${shortKey(key)}`);
    for (const [name, value] of Object.entries(meta.fragments)) await writeFile(join(fragments, name), JSON.stringify(value));
    stored = { key, state: treeState(root) };
  }
  const hookContext: HookRunContext = {
    root,
    emit,
    env: {
      ...settingsEnvironment(config),
      KILN_ROOT: root,
      KILN_IMAGE_DIR: job.imageDir,
      KILN_OUTPUT_DIR: job.outputDir,
      KILN_MANIFEST_DIR: fragments,
      KILN_SOURCE_DATE_EPOCH: String(job.sourceDateEpoch),
      SOURCE_DATE_EPOCH: String(job.sourceDateEpoch),
    },
    runInImage: (argv, opts) => ctx.run(argv, opts),
  };
  const format = FORMATS[job.plan.format];
  let unpacked: unknown;
  const { skeleton, extra } = job.overlays;
  const work: Record<TreeStage, () => Promise<unknown>> = {
    unpack: async () => {
      if (skeleton) await step(emit, 'overlay', () => copyOverlay(root, skeleton, config['overlay.owner'], {}, 'overlay.skeleton'), (n) => `${n} skeleton entries`);
      unpacked = await format.unpack(ctx);
    },
    configure: () => format.configure(ctx, unpacked),
    customize: async () => {
      // Users first: the overlay's owners may name them.
      const chpasswd = (input: string) => ctx.run(['chpasswd'], { input, source: 'chpasswd' });
      await applyUsers({ root, sourceDateEpoch: job.sourceDateEpoch, chpasswd }, config['users.accounts'], config['users.groups']);
      if (extra) await step(emit, 'overlay', () => copyOverlay(root, extra, config['overlay.owner'], config['overlay.owners'], 'overlay.extra'), (n) => `${n} entries`);
      await configureSystem(ctx);
      await configureServices(ctx);
    },
    prune: () => pruneTree(root, config['prune.remove'], emit),
    finalize: async () => {},
  };
  for (const stage of job.stages) {
    if (stage.name === 'output') break;
    await step(emit, stage.name, async () => {
      await work[stage.name as TreeStage]();
      await runHooks(stage.name, job.hooks, hookContext);
    });
    if (stage.checkpoint) {
      const state = treeState(root);
      const changes = stored ? treeChanges(stored.state, state) : undefined;
      const meta = {
        key: stage.key,
        stage: stage.name,
        kilnVersion: job.kilnVersion,
        image: job.imageDir,
        fragments: await readFragments(fragments),
        ...(stored && changes ? { base: stored.key, deleted: changes.deleted } : {}),
      };
      await step(
        emit,
        'checkpoint',
        () => store.save(root, meta, temporaries, changes?.changed),
        (m) => `${stage.name} ${shortKey(m.key)}, ${(m.size / 1e6).toFixed(1)} MB${changes ? `, ${changes.changed.size} changed and ${changes.deleted.length} removed paths` : ''}`,
      );
      stored = { key: stage.key, state };
    }
  }
  await step(emit, 'output', async () => {
    // Read before any writer runs: a directory output on disk moves the tree away.
    const records = await imageRecords({
      ...job.manifest,
      root,
      format,
      plan: job.plan,
      kilnVersion: job.kilnVersion,
      sourceDateEpoch: job.sourceDateEpoch,
      directory: job.outputDir,
      name: config['output.name'],
      fragments: () => readFragments(fragments),
      emit,
    });
    const written = await writeOutputs({
      root,
      formats: config['output.format'],
      directory: job.outputDir,
      name: config['output.name'],
      sourceDateEpoch: job.sourceDateEpoch,
      rootOnTmpfs: config['build.workspace'] === 'tmpfs',
      temporaries,
      records,
    });
    await runHooks('output', job.hooks, { ...hookContext, env: { ...hookContext.env, KILN_OUTPUTS: written.join(' ') } });
  });
  if (config['build.workspace'] !== 'tmpfs') {
    await rm(job.workDir, { recursive: true, force: true });
    temporaries.delete(job.workDir);
  }
}

/** The JSON fragments hooks dropped in $KILN_MANIFEST_DIR. */
async function readFragments(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    try {
      out[name] = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (err) {
      throw new BuildError(`a hook left ${name} in $KILN_MANIFEST_DIR that is not JSON: ${(err as Error).message}`);
    }
  }
  return out;
}

let scriptEntries = 0;

type EmulationOptions = Pick<RootRunOptions, 'binfmt' | 'binds' | 'runBinds' | 'scriptBinfmt'>;
type SandboxOptions = EmulationOptions & Pick<RootRunOptions, 'network' | 'processLimit'>;

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
  sandbox: SandboxOptions,
  emit: Emit,
  opts: RunInTreeOptions,
): Promise<void> {
  const source = opts.source ?? argv[0] ?? 'run';
  const output = outputLines(emit, source);
  const status = await runInRoot({ root, argv, env: opts.env, cwd: opts.cwd, input: opts.input, ...sandbox, onLine: output.onLine });
  if (status !== 0) throw new CommandError(`${source}: ${argv.join(' ')}`, status, null, output.tail);
}
