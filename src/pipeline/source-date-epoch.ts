/**
 * The image's SOURCE_DATE_EPOCH, from build.source-date-epoch (whose
 * environment layer is the SOURCE_DATE_EPOCH variable): a number as given,
 * or the date the plan names. What it came from goes into the manifest, so
 * that a date taken from the caller's environment is a visible input.
 */
import type { Config } from '../config/index.ts';
import type { InstallPlan } from '../formats/types.ts';
import { UserError } from '../util/errors.ts';

export interface ResolvedSourceDateEpoch {
  value: number;
  /** `$SOURCE_DATE_EPOCH`, `kiln.toml:4`, or the mode and where it was set (`release (default)`). */
  from: string;
}

const MODE_DATES: Record<Exclude<Config['build.source-date-epoch'], number>, { date: (plan: InstallPlan) => number | undefined; what: string }> = {
  release: { date: (plan) => plan.repositoryDate, what: "the repository's date (Debian: its Release file's; pacman: the newest package's)" },
  'newest-package': { date: (plan) => plan.newestPackageDate, what: "the newest package's build date" },
};

export function resolveSourceDateEpoch(setting: Config['build.source-date-epoch'], origin: string, plan: InstallPlan): ResolvedSourceDateEpoch {
  if (typeof setting === 'number') return { value: setting, from: origin };
  const mode = MODE_DATES[setting];
  const value = mode.date(plan);
  if (value === undefined) {
    // Debian's Packages index has no build date: it is only inside each .deb, known after the download, too late for the stage keys.
    throw new UserError(
      `${origin}: build.source-date-epoch = "${setting}": the ${plan.format} index does not give the packages' build dates`,
      'use "release" (the archive\'s date) or a number of seconds, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
    );
  }
  return { value, from: `${setting}: ${mode.what} (${origin})` };
}
