/**
 * kiln.lock for pacman: a plan's packages as the lock writes them (the file
 * name below its repository, the repository, whether it was asked for, its
 * signature and build date from the database), and the plan's packages made
 * from a lock: no database read, each fetched from its repository on the
 * mirror or, when the mirror no longer has that version, from the snapshot
 * mirror ($repo and $arch filled in as in distribution.mirror). The
 * signatures are still checked after the download (verify.ts).
 */
import type { Config } from '../../config/index.ts';
import { UserError } from '../../util/errors.ts';
import { keyringFingerprints, lockedPackage, lockedPlanned } from '../locking.ts';
import type { FormatLocking, LockedPackage, LockedSet, PlannedPackage } from '../types.ts';
import { pacmanSources, type PacmanInstallPlan, type PacmanPackageExtra, type PacmanSource } from './plan.ts';

function lockedPackages(plan: PacmanInstallPlan): LockedPackage[] {
  const sources = new Map(plan.extra.sources.map((s) => [s.name, s]));
  return plan.packages.map((p) =>
    lockedPackage(p, sources.get(p.extra.repo)?.url ?? '', {
      repo: p.extra.repo,
      explicit: p.extra.explicit,
      ...(p.installedSize !== undefined ? { 'installed-size': p.installedSize } : {}),
      ...(p.extra.builddate !== undefined ? { builddate: p.extra.builddate } : {}),
      ...(p.extra.pgpsig ? { pgpsig: p.extra.pgpsig } : {}),
    }),
  );
}

async function keyFingerprints(config: Config): Promise<string[]> {
  const sources = pacmanSources(config);
  const paths = [...(sources.some((s) => s.signed && !s.keyring) ? config['distribution.keyring'] : []), ...sources.flatMap((s) => (s.signed && s.keyring ? s.keyring : []))];
  return keyringFingerprints(paths);
}

export const pacmanLocking: FormatLocking<PacmanInstallPlan> = { lockedPackages, keyFingerprints };

/** The plan's packages from the lock, each from its repository in `sources`, or the snapshot mirror. */
export function lockedPacmanPackages(lock: LockedSet, sources: PacmanSource[], arch: string): PlannedPackage<PacmanPackageExtra>[] {
  const byName = new Map(sources.map((s) => [s.name, s]));
  return lock.packages.map((p) => {
    const repo = p.facts.repo;
    const source = typeof repo === 'string' ? byName.get(repo) : undefined;
    if (!source) throw new UserError(`kiln.lock: ${p.name} comes from repository ${JSON.stringify(repo)}, which the configuration does not have`, 'run kiln lock --update');
    const snapshot = lock.snapshotMirror?.replaceAll('$repo', source.name).replaceAll('$arch', arch);
    const { builddate, pgpsig, explicit } = p.facts;
    return lockedPlanned(p, source.url, snapshot, {
      repo: source.name,
      explicit: explicit === true,
      ...(typeof pgpsig === 'string' ? { pgpsig } : {}),
      ...(typeof builddate === 'number' ? { builddate } : {}),
    });
  });
}
