/**
 * A build with kiln.lock: the lock's entry for this image (its id: the
 * distribution, release, architecture and profiles), checked against the
 * configuration's locked settings, as the set the format's plan installs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/index.ts';
import { canLock } from '../formats/index.ts';
import type { LockedSet } from '../formats/types.ts';
import { UserError } from '../util/errors.ts';
import { changedSettings, inputsDigest, lockInputs } from './digest.ts';
import { snapshotMirror } from './snapshot.ts';
import { parseLock } from './text.ts';
import { LOCK_FILE, type LockedImage, type LockFile } from './types.ts';

export function lockPath(dir: string): string {
  return join(dir, LOCK_FILE);
}

/** `debian bookworm amd64`, then ` +PROFILE` for each profile in order. */
export function imageId(loaded: Pick<LoadedConfig, 'config' | 'profiles'>): string {
  const c = loaded.config;
  return [c['distribution.name'], c['distribution.release'], c['distribution.architecture'], ...loaded.profiles.map((p) => `+${p}`)].join(' ');
}

/** kiln.lock in `dir`, or undefined when there is none. */
export function readLockFile(dir: string): LockFile | undefined {
  let text: string;
  try {
    text = readFileSync(lockPath(dir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${lockPath(dir)}: ${(err as Error).message}`, 'kiln build --no-lock ignores it');
  }
  return parseLock(text, lockPath(dir));
}

export interface UsedLock {
  image: LockedImage;
  set: LockedSet;
}

/** The lock's set for this build, or undefined when lock.use is off or there is no kiln.lock; a lock that does not fit is a UserError. */
export function lockForBuild(loaded: LoadedConfig): UsedLock | undefined {
  if (!loaded.config['lock.use']) return undefined;
  const lock = readLockFile(loaded.dir);
  if (!lock) return undefined;
  const id = imageId(loaded);
  const image = lock.images.find((i) => i.id === id);
  const update = `run kiln lock --update to resolve the package set again, or kiln build --no-lock to ignore ${LOCK_FILE}`;
  if (!image) throw new UserError(`${LOCK_FILE} has no package set for ${id} (it has ${lock.images.map((i) => i.id).join(', ') || 'none'})`, `run kiln lock with the same options to add it, or kiln build --no-lock to ignore ${LOCK_FILE}`);
  const format = loaded.distribution.format;
  if (image.format !== format || !canLock(format)) throw new UserError(`${LOCK_FILE}: ${id} is locked as ${image.format}, but ${loaded.distribution.pretty} is ${format}${canLock(format) ? '' : ', which cannot be locked yet'}`, `kiln build --no-lock ignores ${LOCK_FILE}`);
  const inputs = lockInputs(loaded);
  if (inputsDigest(inputs) !== image.configDigest) {
    const changed = changedSettings(image.inputs, inputs);
    const what = changed.length ? `${changed.join(', ')} changed since the lock${changed.length === 1 ? ` (${loaded.origins[changed[0] as keyof typeof loaded.origins] ?? 'default'})` : ''}` : 'its settings digest differs';
    throw new UserError(`${LOCK_FILE} no longer matches the configuration of ${id}: ${what}`, update);
  }
  const set: LockedSet = {
    packages: image.packages,
    repositoryDate: image.repositoryDate,
    ...(image.newestPackageDate !== undefined ? { newestPackageDate: image.newestPackageDate } : {}),
    snapshotMirror: snapshotMirror(loaded.config['lock.snapshot-mirror'], image.locked),
    keyringFingerprints: image.keyringFingerprints,
  };
  return { image, set };
}
