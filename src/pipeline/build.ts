/**
 * `kiln build`, the table of contents: resolve, work out each stage's key,
 * skip what is already stored (the outputs, or the newest checkpoint), fetch
 * what is still needed, run the remaining stages inside the namespace, then
 * the publish hooks (or, on failure, the error hooks).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makePlan, verifierFor, type AnyPlan } from '../formats/index.ts';
import { publicConfig, type LoadedConfig } from '../config/index.ts';
import { BlobStore, downloadAll } from '../repo/index.ts';
import type { Config } from '../config/index.ts';
import { InterruptGuard } from './interrupt.ts';
import type { Emit } from '../util/events.ts';
import { addNativeTwins, emulatorSource, planEmulation } from './emulation.ts';
import { planNamespace, runJob, startWorker, type StartedWorker } from './enter.ts';
import { UserError } from '../util/errors.ts';
import { step } from './step.ts';
import type { BuildJob } from './job.ts';
import { cacheDirectory } from './paths.ts';
import { downloadItem, downloadLimits, packageReader } from './package-reader.ts';
import { checkDisk, checkOutputTools, manifestPath, outputPath, outputsUpToDate } from '../outputs/index.ts';
import { CheckpointStore } from './checkpoints.ts';
import { ownerAlive } from './owner.ts';
import { collectHooks, runHostHook, settingsEnvironment, type Hook } from './hooks.ts';
import { shortKey, stageKeys, type KeyedStage, type StageKeys, type StageName, type TreeStage } from './stages.ts';
import { planStages, STAGE_ORDER, type PlannedStages, type StagePlan } from './stages/index.ts';
import { BuildLog } from './build-log.ts';
import { overlayDigest } from './overlay.ts';
import { resolveSourceDateEpoch } from './source-date-epoch.ts';
import { rememberStageKeys } from './stage-record.ts';
import { buildId, VERSION } from '../version.ts';
import { lockForBuild } from '../lock/index.ts';

export interface BuildOptions {
  emit: Emit;
  dryRun?: boolean;
  debug?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Run again from this stage on, whatever is stored (true: from the start). */
  rebuild?: StageName | true;
}

export type { StagePlan };

export interface BuildResult {
  plan: AnyPlan;
  outputs: string[];
  stages: StagePlan[];
  /** Nothing had changed: the outputs were already there for this configuration. */
  upToDate: boolean;
  /** Every stage's key (kiln shell --stage finds its checkpoint by it). */
  keys?: StageKeys;
  /** The build's SOURCE_DATE_EPOCH (kiln shell --save clamps the layer's times to it); set by --dry-run. */
  sourceDateEpoch?: number;
}

export async function build(loaded: LoadedConfig, opts: BuildOptions): Promise<BuildResult> {
  const { config } = loaded;
  const env = opts.env ?? process.env;
  const log = new BuildLog(opts.emit);
  const emit = log.emit;
  const cache = cacheDirectory(config, env);
  const store = new BlobStore(join(cache, 'downloads'));
  const checkpoints = new CheckpointStore(join(cache, 'checkpoints'));
  const hooks = collectHooks(loaded.dir, config);
  const outputDir = resolve(loaded.dir, config['output.directory']);
  const outputs = config['output.format'].map((f) => outputPath(outputDir, config['output.name'], f));
  const hookEnv = { ...settingsEnvironment(config), KILN_IMAGE_DIR: loaded.dir, KILN_OUTPUT_DIR: outputDir };
  const resolved: BuildContext['resolved'] = {};
  try {
    await sweepStale(store, join(cache, 'work'), checkpoints);
    const result = await buildStages(loaded, opts, { emit, env, cache, store, checkpoints, hooks, outputDir, outputs, resolved });
    if (!opts.dryRun) {
      const publishEnv = { ...hookEnv, ...epochEnvironment(resolved), KILN_OUTPUTS: outputs.join(' '), KILN_MANIFEST: manifestPath(outputDir, config['output.name']), KILN_UP_TO_DATE: result.upToDate ? '1' : '0' };
      await runOuterHooks('publish', hooks, publishEnv, emit, loaded.dir);
    }
    return result;
  } catch (err) {
    if (!opts.dryRun && hooks.some((h) => h.stage === 'error')) {
      const logFile = await log.save(join(cache, 'logs'));
      const errorEnv = { ...hookEnv, ...epochEnvironment(resolved), KILN_BUILD_LOG: logFile, KILN_ERROR: (err as Error).message };
      await runOuterHooks('error', hooks, errorEnv, emit, loaded.dir).catch((hookErr: Error) =>
        emit({ kind: 'log', level: 'warn', message: `an error hook failed too: ${hookErr.message}` }),
      );
    }
    throw err;
  }
}

interface BuildContext {
  emit: Emit;
  env: NodeJS.ProcessEnv;
  cache: string;
  store: BlobStore;
  checkpoints: CheckpointStore;
  hooks: Hook[];
  outputDir: string;
  outputs: string[];
  /** What the build worked out that its publish and error hooks see too. */
  resolved: { sourceDateEpoch?: number };
}

async function buildStages(loaded: LoadedConfig, opts: BuildOptions, b: BuildContext): Promise<BuildResult> {
  // From resolve to the end of fetch, a signal aborts kiln's own downloads (which clean up after
  // themselves); from then on the build worker's runJob handles signals.
  const interrupts = new InterruptGuard();
  // The worker enters its namespace and loads while the plan is made (see startWorker); cancelled when not needed.
  const worker = opts.dryRun ? undefined : startWorker(planNamespace());
  try {
    const prepared = await prepareStages(loaded, opts, b, interrupts.signal);
    interrupts.check();
    if ('result' in prepared) return prepared.result;
    interrupts.dispose();
    return await runStages(loaded, opts, b, prepared, worker);
  } finally {
    interrupts.dispose();
    await worker?.cancel();
  }
}

/** What the host-side part of a build hands to the namespace part. */
interface PreparedBuild {
  plan: AnyPlan;
  stages: StagePlan[];
  /** The stages the namespace runs. */
  run: PlannedStages['run'];
  keys: StageKeys;
  resume: { stage: TreeStage; key: string } | undefined;
  emulation: Awaited<ReturnType<typeof planEmulation>>;
  blobs: Record<string, string>;
  sourceDateEpoch: number;
  sourceDateEpochFrom: string;
  /** What the manifest says of kiln.lock (null: the set was resolved). */
  lock: BuildJob['manifest']['lock'];
  overlays: BuildJob['overlays'];
  idMapping: ReturnType<typeof planNamespace> | undefined;
}

/** Each stage's overlay directory, and the digest of its overlay and layers (part of its key). */
export function stageOverlays(loaded: LoadedConfig): { overlays: BuildJob['overlays']; overlayDigests: Partial<Record<KeyedStage, string>> } {
  const { config } = loaded;
  const overlays: BuildJob['overlays'] = {};
  const overlayDigests: Partial<Record<KeyedStage, string>> = {};
  for (const { name, reads } of STAGE_ORDER) {
    const setting = reads.overlay;
    const value = setting && config[setting];
    if (typeof value !== 'string' || !value) continue;
    const path = (overlays[name] = resolve(loaded.dir, value));
    overlayDigests[name] = overlayDigest(path, setting);
  }
  for (const { name, reads } of STAGE_ORDER) {
    const layers = reads.layers ? (config[reads.layers] as string[]) : [];
    if (!layers.length) continue;
    // Only with layers does the stage's overlay part change, so keys without them stay as they were.
    const digests = layers.map((l) => overlayDigest(resolve(loaded.dir, l), `${reads.layers} "${l}"`));
    overlayDigests[name] = createHash('sha256').update(JSON.stringify([overlayDigests[name] ?? null, digests])).digest('hex');
  }
  return { overlays, overlayDigests };
}

/** Resolve, keys, what to reuse, fetch and verify: everything before the namespace. */
async function prepareStages(loaded: LoadedConfig, opts: BuildOptions, b: BuildContext, signal: AbortSignal): Promise<PreparedBuild | { result: BuildResult }> {
  const { config, distribution } = loaded;
  const { emit, cache, store, checkpoints, hooks, outputDir, outputs } = b;
  const machine = distribution.architectures[config['distribution.architecture']];
  if (!machine) throw new Error(`no machine for ${config['distribution.architecture']}`);
  const idMapping = opts.dryRun ? undefined : planNamespace();
  const limits = downloadLimits(config);
  const origins = { install: loaded.itemOrigins['packages.install'] ?? {}, base: loaded.origins['packages.base'] ?? 'default' };
  const locked = lockForBuild(loaded);
  if (locked) emit({ kind: 'log', level: 'info', message: `installing the ${locked.image.packages.length} packages of kiln.lock (${locked.image.id}, locked ${new Date(locked.image.locked * 1000).toISOString()})` });
  const planContext = { config, distribution, store, memoDir: join(cache, 'plans'), kilnVersion: VERSION, emit, signal, limits, origins, lock: locked?.set };
  // Before resolve: a missing host tool of an output, or an overlay that cannot be read, stops the build before any download.
  checkOutputTools(config['output.format']);
  checkDisk(config, loaded.dir, config['output.format']);
  const { overlays, overlayDigests } = stageOverlays(loaded);
  const plan = await step(emit, 'resolve', () => makePlan(planContext), (p) => `${p.packages.length} packages`);
  const sde = resolveSourceDateEpoch(config['build.source-date-epoch'], loaded.origins['build.source-date-epoch'] ?? 'default', plan);
  const sourceDateEpoch = (b.resolved.sourceDateEpoch = sde.value);
  const keys = stageKeys({ loaded, plan, hooks, sourceDateEpoch, kilnVersion: buildId(), overlays: overlayDigests, hidePrivate: privateHasher(cache) });
  if (!opts.dryRun) await rememberStageKeys(cache, { imageDir: loaded.dir, config, hooks, overlayDigests }, { keys, sourceDateEpoch });
  const planned = await planReuse(keys, opts, b, config);
  const { stages, resume } = planned;
  if (planned.upToDate) {
    emit({ kind: 'log', level: 'info', message: `nothing changed: every stage reused, outputs up to date (${shortKey(keys.output)})` });
    return { result: { plan, outputs, stages, upToDate: true, keys } };
  }
  if (opts.dryRun) return { result: { plan, outputs, stages, upToDate: false, keys, sourceDateEpoch } };
  if (resume) {
    emit({ kind: 'log', level: 'info', message: `reusing ${stages.filter((s) => s.action === 'reuse').map((s) => s.name).join(', ')} (the ${resume.stage} checkpoint ${shortKey(resume.key)})` });
  }

  const emulated = await planEmulation(machine, config['build.binfmt'], { ...emulatorSource(loaded, cache, emit), signal, limits });
  const emulation = await addNativeTwins(emulated, loaded, plan, { cacheDir: cache, store, emit, signal, limits });
  let blobs: Record<string, string> = {};
  if (!resume) {
    const fetched = await step(
      emit,
      'fetch',
      // Cached files are taken by name here and checked when they are read (package-reader.ts, verified-read.ts).
      () => downloadAll(store, plan.packages.map(downloadItem), { ...limits, concurrency: config['build.jobs'], emit, signal }),
      (r) => `${r.filter((x) => !x.cached).length} downloaded, ${r.filter((x) => x.cached).length} cached`,
    );
    blobs = Object.fromEntries(fetched.map((r) => [r.name, r.path]));
    const verify = verifierFor(plan);
    if (verify) await step(emit, 'verify', () => verify({ ...planContext, blobs, readPackage: packageReader(store, emit, limits) }));
  }
  const lock = locked ? { file: 'kiln.lock', id: locked.image.id, configDigest: locked.image.configDigest, locked: new Date(locked.image.locked * 1000).toISOString() } : null;
  return { plan, stages, run: planned.run, keys, resume, emulation, blobs, sourceDateEpoch, sourceDateEpochFrom: sde.from, lock, overlays, idMapping };
}

/**
 * The stage plan over what is stored. The checkpoint it resumes from is
 * verified first (not for --dry-run); a damaged one is removed, said, and
 * the plan made again without it.
 */
async function planReuse(keys: StageKeys, opts: BuildOptions, b: BuildContext, config: Config): Promise<PlannedStages> {
  const { checkpoints, outputDir, outputs, emit } = b;
  const damaged = new Set<string>();
  for (;;) {
    const planned = planStages({
      keys,
      rebuild: opts.rebuild,
      outputsUpToDate: (key) => outputsUpToDate(outputDir, config['output.name'], outputs, key),
      stored: (key) => !damaged.has(key) && checkpoints.find(key) !== undefined,
      checkpoints: config['build.checkpoints'],
    });
    const { resume } = planned;
    if (!resume || opts.dryRun) return planned;
    const found = checkpoints.find(resume.key);
    if (found && (await checkpoints.verify(found))) return planned;
    // Not found again: another build removed it just now.
    if (found) emit({ kind: 'log', level: 'warn', message: `the ${resume.stage} checkpoint ${shortKey(resume.key)} was damaged and is removed` });
    damaged.add(resume.key);
  }
}

/** The stages inside the namespace, then the checkpoint limit. */
async function runStages(loaded: LoadedConfig, opts: BuildOptions, b: BuildContext, prepared: PreparedBuild, worker?: StartedWorker): Promise<BuildResult> {
  const { config, distribution } = loaded;
  const { emit, cache, store, checkpoints, hooks, outputDir, outputs } = b;
  const { plan, stages, run, keys, resume, emulation, blobs, sourceDateEpoch, sourceDateEpochFrom, lock, overlays, idMapping } = prepared;
  await mkdir(outputDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`cannot create the output directory ${outputDir}: ${err.code === 'EACCES' ? 'permission denied' : err.message}`, 'set output.directory to a directory you can write');
  });
  const workDir =
    config['build.workspace'] === 'tmpfs' ? join(cache, 'work', String(process.pid)) : join(outputDir, `.kiln-work-${process.pid}`);
  await mkdir(workDir, { recursive: true });
  const machine = distribution.architectures[config['distribution.architecture']]!;
  const job: BuildJob = {
    kind: 'build',
    config,
    plan,
    blobs,
    outputDir,
    workDir,
    emulation,
    cacheDir: cache,
    downloadDir: store.dir,
    sourceDateEpoch,
    machine,
    debug: opts.debug ?? false,
    imageDir: loaded.dir,
    kilnVersion: VERSION,
    resume,
    stages: run,
    hooks,
    overlays,
    checkpointDir: checkpoints.dir,
    checkpointOwner: checkpoints.owner,
    manifest: {
      outputKey: keys.output,
      config: publicConfig(loaded),
      image: {
        name: config['output.name'],
        distribution: distribution.name,
        release: config['distribution.release'],
        architecture: config['distribution.architecture'],
        board: loaded.board?.name ?? null,
        profiles: loaded.profiles,
      },
      supplier: distribution.pretty,
      sourceDateEpochFrom,
      mirrors: plan.mirrors ?? [],
      lock,
    },
  };
  try {
    await runJob(job, { emit, interactive: false, mapping: idMapping, ...(worker ? { started: worker } : {}) });
  } finally {
    // The tmpfs mount point is an empty directory on the host; the tree on it vanished with the namespace.
    if (config['build.workspace'] === 'tmpfs') await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
  if (config['build.checkpoints']) {
    const removed = await checkpoints.prune(config['build.checkpoint-limit']);
    if (removed.length) emit({ kind: 'log', level: 'info', message: `removed ${removed.length} least recently used checkpoints (build.checkpoint-limit)` });
  }
  return { plan, outputs, stages, upToDate: false };
}

/** A keyed hash for private values in stage keys: the key is a secret kept in the cache, so a stored key reveals nothing. */
function privateHasher(cache: string): (value: unknown) => string {
  const file = join(cache, 'private-key');
  let secret: Buffer;
  try {
    secret = readFileSync(file);
  } catch {
    secret = randomBytes(32);
    mkdirSync(cache, { recursive: true });
    writeFileSync(`${file}.${process.pid}`, secret, { mode: 0o600 });
    renameSync(`${file}.${process.pid}`, file);
  }
  return (value) => createHmac('sha256', secret).update(JSON.stringify(value)).digest('hex');
}

/** SOURCE_DATE_EPOCH for publish and error hooks, as every other hook has it (an error before resolve leaves it unknown). */
function epochEnvironment(resolved: BuildContext['resolved']): Record<string, string> {
  const sde = resolved.sourceDateEpoch;
  return sde === undefined ? {} : { SOURCE_DATE_EPOCH: String(sde), KILN_SOURCE_DATE_EPOCH: String(sde) };
}

/** Publish and error hooks: after the build, on the host, as the user. */
async function runOuterHooks(stage: 'publish' | 'error', hooks: Hook[], env: Record<string, string>, emit: Emit, cwd: string): Promise<void> {
  const mine = hooks.filter((h) => h.stage === stage);
  if (!mine.length) return;
  await step(emit, stage, async () => {
    for (const hook of mine) await runHostHook(hook, { ...env, KILN_STAGE: stage, KILN_HOOK: hook.name }, `hook ${stage}/${hook.name}`, emit, cwd);
  });
}

/**
 * What killed builds left: download temporaries nobody has written to for two
 * minutes (a live download writes all the time), checkpoint temporaries whose
 * kiln is gone (owner.ts), and the empty mount points
 * of work trees whose kiln is gone (the trees vanished with their namespaces).
 */
async function sweepStale(store: BlobStore, workRoot: string, checkpoints: CheckpointStore): Promise<void> {
  await store.sweepTemporaries(2 * 60_000);
  await checkpoints.sweep(ownerAlive);
  for (const name of await readdir(workRoot).catch(() => [] as string[])) {
    const pid = Number(/^(?:shell-)?(\d+)$/.exec(name)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await rmdir(join(workRoot, name)).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
