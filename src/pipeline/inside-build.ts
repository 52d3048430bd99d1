/**
 * The build inside the namespace, as root of it: restore the checkpoint to
 * start from, then each stage of the job in order (its module's work, its
 * hooks, its module's work after them and, where it is stored, its
 * checkpoint). The output stage is the
 * last of them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMATS, installerFor, type InstallEnvironment } from '../formats/index.ts';
import type { RunInTreeOptions } from '../formats/types.ts';
import { runInRoot, type RootRunOptions } from '../sandbox/index.ts';
import { nativePerlFor, type NativeInterpreter } from './native-perl.ts';
import { prepareBinds } from './binds.ts';
import { scriptMountPoints } from './partition-mounts.ts';
import { describeCounts, prepareTwinRun, type TwinRun } from './twin-run.ts';
import { noExecutions, type ExecutionCounts } from './twin-dispatch.ts';
import { scriptLedger, writeScriptLedger } from './script-ledger.ts';
import { CommandError } from '../util/errors.ts';
import { outputLines, type Emit } from '../util/events.ts';
import type { BuildJob, Emulation } from './job.ts';
import { run } from '../util/run.ts';
import { step } from './step.ts';
import { CheckpointStore, treeChanges, treeSize, treeState, type TreeState } from './checkpoints.ts';
import { describeTreeSize } from '../util/size.ts';
import { runHooks, settingsEnvironment, type HookRunContext } from './hooks.ts';
import { shortKey } from './stages.ts';
import { readFragments, STAGE_MODULES, type StageContext } from './stages/index.ts';
import { downloadLimits, packageReader } from './package-reader.ts';
import { BlobStore } from '../repo/index.ts';

/** The last stored state of the tree: the next checkpoint holds only what changed since. */
type Stored = { key: string; state: TreeState } | undefined;

export async function runBuildJob(job: BuildJob, emit: Emit, temporaries: Set<string>): Promise<void> {
  const { config } = job;
  if (config['build.workspace'] === 'tmpfs') await mountTmpfs(job.workDir);
  else temporaries.add(job.workDir);
  const ctx = await stageContext(job, emit, temporaries);
  const store = new CheckpointStore(job.checkpointDir, job.checkpointOwner);
  let stored = job.resume ? await restore(ctx, store, job.resume) : undefined;
  const hooks = hookContext(ctx);
  for (const stage of job.stages) {
    // The checkpoint's walk of the tree, taken as the stage ends, also gives its size for the stage's line (no walk of its own: see README).
    let state: TreeState | undefined;
    await step(
      emit,
      stage.name,
      async () => {
        const env = await STAGE_MODULES[stage.name].run(ctx);
        await runHooks(stage.name, job.hooks, env ? { ...hooks, env: { ...hooks.env, ...env } } : hooks);
        await STAGE_MODULES[stage.name].afterHooks?.(ctx);
        if (stage.checkpoint) state = treeState(ctx.root);
      },
      () => (state ? describeTreeSize(treeSize(state)) : undefined),
    );
    if (stage.checkpoint && state) stored = await checkpoint(ctx, store, stored, stage, state);
  }
  if (config['build.workspace'] !== 'tmpfs') {
    await rm(job.workDir, { recursive: true, force: true });
    temporaries.delete(job.workDir);
  }
}

/** The empty tree and the manifest fragments directory, and how commands run in the tree. */
async function stageContext(job: BuildJob, emit: Emit, temporaries: Set<string>): Promise<StageContext> {
  const { config } = job;
  const root = join(job.workDir, 'root');
  const fragments = join(job.workDir, 'manifest.d');
  await mkdir(root, { recursive: true, mode: 0o755 });
  await mkdir(fragments, { recursive: true });
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
  // Twins the tree's packages do not match, said once each; executions per package, for the script ledger.
  const unusedSaid = new Set<string>();
  const byPackage: ExecutionCounts['byPackage'] = new Map();
  const ledgerFacts = FORMATS[job.plan.format].twins?.tree;
  const install: InstallEnvironment = {
    root,
    blobs: job.blobs,
    readPackage: packageReader(new BlobStore(job.downloadDir), emit, downloadLimits(config)),
    config,
    emit,
    cacheDir: job.cacheDir,
    sourceDateEpoch: job.sourceDateEpoch,
    run: async (argv, opts = {}) => {
      const helpers = opts.packageScripts ? await nativeHelpers() : undefined;
      const sandbox = {
        network: config['build.network'],
        processLimit: config['build.process-limit'],
        ...(opts.packageScripts ? { mountPoints: scriptMountPoints(root, config, job.sourceDateEpoch) } : {}),
      };
      const twins = opts.packageScripts && job.emulation?.twins ? await prepareTwinRun(root, job.emulation.twins, job.emulation.entry, job.workDir, helpers?.standIns) : undefined;
      for (const { name, why } of twins?.table.unused ?? []) {
        if (unusedSaid.has(name)) continue;
        unusedSaid.add(name);
        emit({ kind: 'log', level: 'info', source: 'twins', message: `${name}'s twin is not used: ${why}` });
      }
      const env = { ...treeCommandEnvironment(job), ...opts.env };
      try {
        await withEmulation(root, job.emulation, helpers, (emulation) => runChecked(root, argv, { ...emulation, ...sandbox, runBinds: [...(emulation.runBinds ?? []), ...(opts.runBinds ?? [])] }, emit, { ...opts, env }), twins);
      } finally {
        if (twins) {
          const counts = noExecutions();
          await twins.finish(counts);
          for (const [name, c] of counts.byPackage) {
            const total = byPackage.get(name) ?? { native: 0, emulated: 0 };
            byPackage.set(name, { native: total.native + c.native, emulated: total.emulated + c.emulated });
          }
          const { summary, detail } = describeCounts(counts);
          emit({ kind: 'log', level: 'info', source: opts.source ?? argv[0], message: summary });
          emit({ kind: 'log', level: 'debug', source: opts.source ?? argv[0], message: detail });
        }
        if (opts.packageScripts && job.emulation && ledgerFacts) await writeScriptLedger(fragments, scriptLedger(root, job.plan.packages, byPackage, ledgerFacts));
      }
    },
  };
  return { job, root, install, installer: installerFor(job.plan, install), packageDatabase: FORMATS[job.plan.format], emit, temporaries, fragments };
}

/**
 * What every command kiln runs in the tree gets, whatever runs it: every
 * format's package scripts (dpkg's preinsts and `dpkg --configure`, whose
 * maintainer scripts inherit it; pacman's scriptlets and ALPM hooks; apk's
 * scripts and triggers will come through here too), `.chroot` hooks and
 * kiln's own commands (chpasswd, locale-gen, systemctl). SOURCE_DATE_EPOCH
 * is the date tools that honour it write instead of today's: shadow's
 * pwconv and chpasswd (the last-change field of /etc/shadow), and others.
 */
export function treeCommandEnvironment(job: Pick<BuildJob, 'sourceDateEpoch'>): Record<string, string> {
  return { SOURCE_DATE_EPOCH: String(job.sourceDateEpoch) };
}

/** What every hook of the build sees. */
function hookContext({ job, root, emit, install, fragments }: StageContext): HookRunContext {
  return {
    root,
    emit,
    env: {
      ...settingsEnvironment(job.config),
      KILN_ROOT: root,
      KILN_IMAGE_DIR: job.imageDir,
      KILN_OUTPUT_DIR: job.outputDir,
      KILN_MANIFEST_DIR: fragments,
      KILN_SOURCE_DATE_EPOCH: String(job.sourceDateEpoch),
      SOURCE_DATE_EPOCH: String(job.sourceDateEpoch),
    },
    runInImage: (argv, opts) => install.run(argv, opts),
  };
}

/** The tree and the manifest fragments of the checkpoint the job starts from. */
async function restore({ root, emit, fragments }: StageContext, store: CheckpointStore, { key, stage }: NonNullable<BuildJob['resume']>): Promise<Stored> {
  const meta = await step(emit, 'restore', () => store.restore(key, root), () => `${stage} checkpoint ${shortKey(key)}`);
  for (const [name, value] of Object.entries(meta.fragments)) await writeFile(join(fragments, name), JSON.stringify(value));
  return { key, state: treeState(root) };
}

/** Stores the tree after `stage`: what changed since the last stored state, over it. */
async function checkpoint(ctx: StageContext, store: CheckpointStore, stored: Stored, stage: BuildJob['stages'][number], state: TreeState): Promise<Stored> {
  const { job, root, emit, temporaries } = ctx;
  const changes = stored ? treeChanges(stored.state, state) : undefined;
  const meta = {
    key: stage.key,
    stage: stage.name,
    kilnVersion: job.kilnVersion,
    image: job.imageDir,
    fragments: await readFragments(ctx.fragments),
    ...(stored && changes ? { base: stored.key, deleted: changes.deleted } : {}),
  };
  await step(
    emit,
    'checkpoint',
    () => store.save(root, meta, temporaries, changes?.changed),
    (m) => `${stage.name} ${shortKey(m.key)}, ${(m.size / 1e6).toFixed(1)} MB${changes ? `, ${changes.changed.size} changed and ${changes.deleted.length} removed paths` : ''}`,
  );
  return { key: stage.key, state };
}

/** Mounts a tmpfs private to this namespace on `dir` (gone when the namespace is). */
export async function mountTmpfs(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'kiln-work', dir]);
}

let scriptEntries = 0;

type EmulationOptions = Pick<RootRunOptions, 'binfmt' | 'binds' | 'runBinds' | 'scriptBinfmt'>;
type SandboxOptions = EmulationOptions & Pick<RootRunOptions, 'network' | 'processLimit' | 'mountPoints'>;

/**
 * Runs `fn` with the sandbox options for emulation: the QEMU entry, the
 * interpreter bound into the tree when the host registered it without the F
 * flag (removed after), and a native script interpreter if there is one.
 */
export async function withEmulation<T>(
  root: string,
  emulation: Emulation | undefined,
  native: NativeInterpreter | undefined,
  fn: (opts: EmulationOptions) => Promise<T>,
  twins?: TwinRun,
): Promise<T> {
  if (!emulation) return fn({});
  const prepared = await prepareBinds(root, emulation.bindInterpreter ? [emulation.entry.interpreter] : []);
  // A name of its own per command: commands running side by side each remove only theirs.
  const perl = (native?.entries ?? []).map((entry) => ({ ...entry, name: `${entry.name}-${++scriptEntries}` }));
  try {
    // With twins, their dispatcher takes QEMU's entry (and starts QEMU itself for the rest).
    return await fn({
      binfmt: twins ? undefined : { entry: emulation.entry, mode: emulation.mode },
      binds: prepared.binds,
      runBinds: [...(native?.runBinds ?? []), ...(twins?.runBinds ?? [])],
      scriptBinfmt: twins ? [twins.entry, ...perl] : perl,
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
