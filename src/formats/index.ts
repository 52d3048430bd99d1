/** The package formats: an exhaustive map, so a missing one is a compile error. */
import type { FormatName } from '../catalog/index.ts';
import type { PackageFormat } from './types.ts';
import { planDeb } from './deb/plan.ts';
import { configureDebs, unpackDebs } from './deb/install.ts';
import { inventoryDeb } from './deb/inventory.ts';
import { inventoryPacman } from './pacman/inventory.ts';
import { planPacman } from './pacman/plan.ts';
import { verifyPacman } from './pacman/verify.ts';
import { configurePacmans, unpackPacmans } from './pacman/install.ts';

/** What unpack hands to configure stays the format's own business. */
const format = <U>(f: PackageFormat<U>) => f as unknown as PackageFormat;

export const FORMATS: Record<FormatName, PackageFormat> = {
  deb: format({ plan: planDeb, unpack: unpackDebs, configure: configureDebs, inventory: inventoryDeb }),
  pacman: format({ plan: planPacman, verify: verifyPacman, unpack: unpackPacmans, configure: configurePacmans, inventory: inventoryPacman }),
};
