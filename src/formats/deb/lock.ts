/**
 * kiln.lock for Debian: a plan's packages as the lock writes them (the pool
 * path below the mirror, multi-arch and source from the index), and the
 * plan made from a lock: exactly its packages, no index read, each fetched
 * from the mirror or, when the mirror no longer has that version, from the
 * snapshot mirror; the lock's sha256 is what the download is checked against.
 */
import type { Config } from '../../config/index.ts';
import { UserError } from '../../util/errors.ts';
import { keyringFingerprints, lockedPackage, lockedPlanned } from '../locking.ts';
import type { FormatLocking, LockedPackage, LockedSet, PlannedPackage } from '../types.ts';
import type { MultiArch } from './packages.ts';
import type { DebInstallPlan, DebPackageExtra } from './plan.ts';

function lockedPackages(plan: DebInstallPlan): LockedPackage[] {
  return plan.packages.map((p) =>
    lockedPackage(p, plan.extra.mirror, {
      'multi-arch': p.extra.multiArch,
      source: p.extra.source.name,
      'source-version': p.extra.source.version,
      ...(p.installedSize !== undefined ? { 'installed-size': p.installedSize } : {}),
    }),
  );
}

async function keyFingerprints(config: Config): Promise<string[]> {
  return config['distribution.verify-signatures'] ? keyringFingerprints(config['distribution.keyring']) : [];
}

export const debLocking: FormatLocking<DebInstallPlan> = { lockedPackages, keyFingerprints };

/** The plan's packages from the lock, fetched from `mirror` or the snapshot mirror. */
export function lockedDebPackages(lock: LockedSet, mirror: string): PlannedPackage<DebPackageExtra>[] {
  return lock.packages.map((p) => {
    const fact = (k: string) => {
      const v = p.facts[k];
      if (typeof v !== 'string') throw new UserError(`kiln.lock: ${p.name} has no ${k}`, 'run kiln lock --update to write it again');
      return v;
    };
    return lockedPlanned(p, mirror, lock.snapshotMirror, { multiArch: fact('multi-arch') as MultiArch, source: { name: fact('source'), version: fact('source-version') } });
  });
}
