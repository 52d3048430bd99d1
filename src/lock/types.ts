/** The shape of kiln.lock: one entry per image variant (distribution, release, architecture, profiles) the directory builds. */
import type { FormatName } from '../catalog/index.ts';
import type { LockedPackage } from '../formats/types.ts';

export const LOCK_FILE = 'kiln.lock';
export const LOCK_VERSION = 1;

export interface LockFile {
  version: number;
  images: LockedImage[];
}

export interface LockedImage {
  /** `debian bookworm amd64`, with ` +profile` for each profile: what `kiln build` looks its entry up by. */
  id: string;
  distribution: string;
  release: string;
  architecture: string;
  profiles: string[];
  format: FormatName;
  /** When the set was resolved, seconds (UTC): the date of lock.snapshot-mirror. */
  locked: number;
  /** sha256 of `inputs`: a build whose settings give another digest does not match the lock. */
  configDigest: string;
  /** The settings that shape the package set, as they were when the lock was made (lock/digest.ts says which). */
  inputs: Record<string, unknown>;
  /** As the manifest records it: the value and where it came from, at the time of the lock. */
  sourceDateEpoch: number;
  sourceDateEpochFrom: string;
  repositoryDate: number;
  newestPackageDate?: number;
  /** The mirrors the packages came from, resolved (a Debian default is the host's apt sources'). */
  mirrors: string[];
  /** OpenPGP fingerprints (upper-case hex) of the keys the indexes were verified with; empty with signature checks off. */
  keyringFingerprints: string[];
  /** apk: `REPOSITORY sha256:HEX` of each repository's index the set was resolved from; unset for the other formats. */
  repositoryIndexes?: string[];
  packages: LockedPackage[];
}
