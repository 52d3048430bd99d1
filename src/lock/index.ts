/** kiln.lock: the exact package set of each image, written by `kiln lock`, installed by `kiln build`. */
export { lockImage, type LockOptions, type LockResult } from './make.ts';
export { imageId, lockForBuild, lockPath, readLockFile, type UsedLock } from './use.ts';
export { changedSettings, inputsDigest, lockInputs, LOCKED_SETTINGS } from './digest.ts';
export { snapshotMirror } from './snapshot.ts';
export { formatLock, parseLock } from './text.ts';
export { LOCK_FILE, LOCK_VERSION, type LockedImage, type LockFile } from './types.ts';
