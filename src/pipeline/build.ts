/**
 * `kiln build`, the table of contents: plan, fetch, then assemble and write
 * the outputs inside the namespace.
 */
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FORMATS } from '../formats/index.ts';
import type { InstallPlan } from '../formats/types.ts';
import type { LoadedConfig } from '../config/index.ts';
import { BlobStore, downloadAll } from '../repo/index.ts';
import type { Emit } from '../util/events.ts';
import { emulatorSource, planEmulation } from './emulation.ts';
import { planNamespace, runJob } from './enter.ts';
import { UserError } from '../util/errors.ts';
import { step } from './step.ts';
import type { BuildJob } from './job.ts';
import { cacheDirectory } from './paths.ts';
import { outputPath } from '../outputs/index.ts';
import { VERSION } from '../version.ts';

export interface BuildOptions {
  emit: Emit;
  dryRun?: boolean;
  debug?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface BuildResult {
  plan: InstallPlan;
  outputs: string[];
}

export async function build(loaded: LoadedConfig, opts: BuildOptions): Promise<BuildResult> {
  const { config, distribution } = loaded;
  const { emit } = opts;
  const env = opts.env ?? process.env;
  const cache = cacheDirectory(config, env);
  const store = new BlobStore(join(cache, 'downloads'));
  await sweepStale(store, join(cache, 'work'));
  const machine = distribution.architectures[config['distribution.architecture']];
  if (!machine) throw new Error(`no machine for ${config['distribution.architecture']}`);
  const emulation = await planEmulation(machine, config['build.binfmt'], emulatorSource(loaded, cache, emit));
  const idMapping = planNamespace();
  const format = FORMATS[distribution.format];
  const planContext = { config, distribution, store, memoDir: join(cache, 'plans'), kilnVersion: VERSION, emit };
  const plan = await step(emit, 'resolve', () => format.plan(planContext), (p) => `${p.packages.length} packages`);
  const outputDir = resolve(loaded.dir, config['output.directory']);
  const outputs = config['output.format'].map((f) => outputPath(outputDir, config['output.name'], f));
  if (opts.dryRun) return { plan, outputs };

  const fetched = await step(
    emit,
    'fetch',
    () => downloadAll(store, plan.packages.map((p) => ({ urls: p.urls, sha256: p.sha256, size: p.size, name: p.name })), { concurrency: config['build.jobs'], emit }),
    (r) => `${r.filter((x) => !x.cached).length} downloaded, ${r.filter((x) => x.cached).length} cached`,
  );
  const blobs = Object.fromEntries(fetched.map((r) => [r.name, r.path]));
  const verify = format.verify;
  if (verify) await step(emit, 'verify', () => verify({ ...planContext, plan, blobs }));
  await mkdir(outputDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`cannot create the output directory ${outputDir}: ${err.code === 'EACCES' ? 'permission denied' : err.message}`, 'set output.directory to a directory you can write');
  });
  const workDir =
    config['build.workspace'] === 'tmpfs' ? join(cache, 'work', String(process.pid)) : join(outputDir, `.kiln-work-${process.pid}`);
  await mkdir(workDir, { recursive: true });
  const sde = Number(env.SOURCE_DATE_EPOCH);
  const job: BuildJob = {
    kind: 'build',
    config,
    plan,
    blobs,
    outputDir,
    workDir,
    emulation,
    cacheDir: cache,
    sourceDateEpoch: Number.isInteger(sde) && sde > 0 ? sde : plan.repositoryDate,
    debug: opts.debug ?? false,
  };
  try {
    await runJob(job, { emit, interactive: false, mapping: idMapping });
  } finally {
    // The tmpfs mount point is an empty directory on the host; the tree on it vanished with the namespace.
    if (config['build.workspace'] === 'tmpfs') await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
  return { plan, outputs };
}

/**
 * What killed builds left: download temporaries nobody has written to for two
 * minutes (a live download writes all the time), and the empty mount points
 * of work trees whose kiln is gone (the trees vanished with their namespaces).
 */
async function sweepStale(store: BlobStore, workRoot: string): Promise<void> {
  await store.sweepTemporaries(2 * 60_000);
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
