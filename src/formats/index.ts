/** The package formats: an exhaustive map, so a missing one is a compile error. */
import type { FormatName } from '../catalog/index.ts';
import type { PackageFormat } from './types.ts';
import { planDeb } from './deb/plan.ts';
import { installDeb } from './deb/install.ts';
import { planPacman } from './pacman/plan.ts';
import { verifyPacman } from './pacman/verify.ts';
import { installPacman } from './pacman/install.ts';

export const FORMATS: Record<FormatName, PackageFormat> = {
  deb: { plan: planDeb, install: installDeb },
  pacman: { plan: planPacman, verify: verifyPacman, install: installPacman },
};
