/**
 * `kiln lock`: resolves the image's package set as a build would (the
 * signed indexes, the base set, packages.install), and writes it into
 * kiln.lock beside kiln.toml with what it was resolved from. Other images'
 * entries (another architecture or profile of a matrix) are kept. Without
 * --update an entry that still matches the configuration is left as it is;
 * a new resolution that gives the same packages keeps the entry's date, so
 * that the file only changes when the set does.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/index.ts';
import { canLock, lockOf, makePlan } from '../formats/index.ts';
import type { LockedPackage } from '../formats/types.ts';
import { cacheDirectory } from '../pipeline/paths.ts';
import { downloadLimits } from '../pipeline/package-reader.ts';
import { resolveSourceDateEpoch } from '../pipeline/source-date-epoch.ts';
import { BlobStore } from '../repo/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import { VERSION } from '../version.ts';
import { inputsDigest, lockInputs } from './digest.ts';
import { byName, formatLock } from './text.ts';
import { LOCK_VERSION, type LockedImage, type LockFile } from './types.ts';
import { imageId, lockPath, readLockFile } from './use.ts';

export interface LockOptions {
  /** Resolve again even when the entry still matches the configuration. */
  update: boolean;
  emit: Emit;
  env?: NodeJS.ProcessEnv;
  /** The lock's date (seconds); default now. */
  now?: number;
}

export interface LockResult {
  path: string;
  image: LockedImage;
  /** What changed in the file: 'added', 'updated' (another set), or 'unchanged'. */
  change: 'added' | 'updated' | 'unchanged';
}

export async function lockImage(loaded: LoadedConfig, opts: LockOptions): Promise<LockResult> {
  const { config, distribution } = loaded;
  const format = distribution.format;
  if (!canLock(format)) throw new UserError(`${distribution.pretty} packages (${format}) cannot be locked yet`, 'kiln build resolves them afresh each time; build without kiln.lock');
  const path = lockPath(loaded.dir);
  let existing: LockFile | undefined;
  try {
    existing = readLockFile(loaded.dir);
  } catch (err) {
    if (!opts.update) throw err;
  }
  const id = imageId(loaded);
  const previous = existing?.images.find((i) => i.id === id);
  const inputs = lockInputs(loaded);
  const configDigest = inputsDigest(inputs);
  if (previous && !opts.update && previous.configDigest === configDigest) return { path, image: previous, change: 'unchanged' };

  const cache = cacheDirectory(config, opts.env);
  const origins = { install: loaded.itemOrigins['packages.install'] ?? {}, base: loaded.origins['packages.base'] ?? 'default' };
  const plan = await makePlan({ config, distribution, store: new BlobStore(join(cache, 'downloads')), memoDir: join(cache, 'plans'), kilnVersion: VERSION, emit: opts.emit, limits: downloadLimits(config), origins });
  const locked = await lockOf(plan, config);
  if (!locked) throw new Error(`${format} lost its lock support`);
  const sde = resolveSourceDateEpoch(config['build.source-date-epoch'], loaded.origins['build.source-date-epoch'] ?? 'default', plan);
  const packages = [...locked.packages].sort(byName);
  const same = previous !== undefined && samePackages(previous.packages, packages);
  const image: LockedImage = {
    id,
    distribution: distribution.name,
    release: config['distribution.release'],
    architecture: config['distribution.architecture'],
    profiles: loaded.profiles,
    format,
    locked: same ? previous.locked : (opts.now ?? Math.floor(Date.now() / 1000)),
    configDigest,
    inputs,
    sourceDateEpoch: sde.value,
    sourceDateEpochFrom: sde.from,
    repositoryDate: plan.repositoryDate,
    ...(plan.newestPackageDate !== undefined ? { newestPackageDate: plan.newestPackageDate } : {}),
    mirrors: plan.mirrors ?? [],
    keyringFingerprints: locked.keyringFingerprints,
    ...(locked.repositoryIndexes.length ? { repositoryIndexes: locked.repositoryIndexes } : {}),
    packages,
  };
  const lock: LockFile = { version: LOCK_VERSION, images: [...(existing?.images ?? []).filter((i) => i.id !== id), image] };
  const text = formatLock(lock);
  const before = existing ? formatLock(existing) : undefined;
  if (text !== before) await writeAtomic(path, text);
  return { path, image, change: !previous ? 'added' : text === before ? 'unchanged' : 'updated' };
}

function samePackages(a: LockedPackage[], b: LockedPackage[]): boolean {
  const key = (list: LockedPackage[]) => JSON.stringify([...list].sort(byName).map((p) => [p.name, p.version, p.architecture, p.sha256]));
  return key(a) === key(b);
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
