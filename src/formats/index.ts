/**
 * The package formats: an exhaustive map, so a missing one is a compile
 * error. Each keeps its own types (its plan data, its package data, what its
 * unpack stage hands to configure); the pipeline holds a plan as AnyPlan, a
 * union told apart by `format`, and reaches the format's code through the
 * generic helpers below, which keep the plan and its format together.
 */
import type { FormatName } from '../catalog/index.ts';
import type { Config } from '../config/index.ts';
import type { InstallContext, InstallPlan, LockedPackage, PackageFormat, PlanContext, VerifyContext } from './types.ts';
import { planDeb } from './deb/plan.ts';
import { configureDebs, unpackDebs } from './deb/install.ts';
import { debDatabase, inventoryDeb } from './deb/inventory.ts';
import { debLocking } from './deb/lock.ts';
import { pacmanLocking } from './pacman/lock.ts';
import { inventoryPacman, pacmanDatabase } from './pacman/inventory.ts';
import { planPacman } from './pacman/plan.ts';
import { verifyPacman } from './pacman/verify.ts';
import { configurePacmans, unpackPacmans } from './pacman/install.ts';
import { planApk } from './apk/plan.ts';
import { verifyApk } from './apk/verify.ts';
import { configureApks, unpackApks } from './apk/install.ts';
import { apkDatabase, inventoryApk } from './apk/inventory.ts';
import { apkLocking } from './apk/lock.ts';
import { APK_NORMALISATION } from './apk/normalise.ts';
import { DEB_NORMALISATION } from './deb/normalise.ts';
import { PACMAN_NORMALISATION } from './pacman/normalise.ts';
import { debTwins } from './deb/twins.ts';
import { pacmanTwins } from './pacman/twins.ts';
import { apkTwins } from './apk/twins.ts';

/** Checks one format's functions against each other (the plan plan() makes is the one unpack() takes). */
const format = <Plan extends InstallPlan, Unpacked>(f: PackageFormat<Plan, Unpacked>) => f;

const MODULES = {
  deb: format({ plan: planDeb, unpack: unpackDebs, configure: configureDebs, inventory: inventoryDeb, database: debDatabase, lock: debLocking, normalise: DEB_NORMALISATION, twins: debTwins }),
  pacman: format({ plan: planPacman, verify: verifyPacman, unpack: unpackPacmans, configure: configurePacmans, inventory: inventoryPacman, database: pacmanDatabase, lock: pacmanLocking, normalise: PACMAN_NORMALISATION, twins: pacmanTwins }),
  apk: format({ plan: planApk, verify: verifyApk, unpack: unpackApks, configure: configureApks, inventory: inventoryApk, database: apkDatabase, lock: apkLocking, normalise: APK_NORMALISATION, twins: apkTwins }),
} satisfies Record<FormatName, unknown>;

/** A format's own types, read off its functions. */
type TypesOf<F extends FormatName> = F extends keyof typeof MODULES
  ? (typeof MODULES)[F] extends PackageFormat<infer Plan extends InstallPlan, infer Unpacked>
    ? { plan: Plan; unpacked: Unpacked }
    : never
  : never;
/** The plan a format makes. */
export type PlanOf<F extends FormatName> = TypesOf<F>['plan'];
/** What a format's unpack stage hands to its configure stage. */
type UnpackedOf<F extends FormatName> = TypesOf<F>['unpacked'];
/** A plan of any format, told apart by its `format`. */
export type AnyPlan = PlanOf<FormatName>;

export const FORMATS: { readonly [F in FormatName]: PackageFormat<PlanOf<F>, UnpackedOf<F>> } = MODULES;

/** The parts of an install context that do not depend on the format. */
export type InstallEnvironment = Omit<InstallContext, 'plan'>;

/**
 * The unpack and configure stages of a plan's own format, bound to the plan:
 * what unpack hands to configure stays inside (the two always run in one go,
 * in this order).
 */
export function installerFor<F extends FormatName>(plan: PlanOf<F> & { format: F }, env: InstallEnvironment): { unpack(): Promise<void>; configure(): Promise<void> } {
  const formatOfPlan = FORMATS[plan.format];
  const ctx: InstallContext<PlanOf<F>> = { ...env, plan };
  let unpacked: { value: UnpackedOf<F> } | undefined;
  return {
    unpack: async () => {
      unpacked = { value: await formatOfPlan.unpack(ctx) };
    },
    configure: async () => {
      if (!unpacked) throw new Error('configure before unpack: the two run in one go');
      await formatOfPlan.configure(ctx, unpacked.value);
    },
  };
}

/** The plan of the distribution's format. */
export function makePlan(ctx: PlanContext): Promise<AnyPlan> {
  return FORMATS[ctx.distribution.format].plan(ctx);
}

/** The plan's format's check of the downloaded packages, bound to the plan; undefined when the format has none. */
export function verifierFor<F extends FormatName>(plan: PlanOf<F> & { format: F }): ((ctx: Omit<VerifyContext, 'plan'>) => Promise<void>) | undefined {
  const verify = FORMATS[plan.format].verify;
  return verify && ((ctx) => verify({ ...ctx, plan }));
}

/** Whether the format can be locked (kiln lock). */
export function canLock(format: FormatName): boolean {
  return FORMATS[format].lock !== undefined;
}

/** The plan's packages as kiln.lock writes them, its format's key fingerprints and index checksums; undefined when the format cannot be locked yet. */
export async function lockOf<F extends FormatName>(plan: PlanOf<F> & { format: F }, config: Config): Promise<{ packages: LockedPackage[]; keyringFingerprints: string[]; repositoryIndexes: string[] } | undefined> {
  const lock = FORMATS[plan.format].lock;
  if (!lock) return undefined;
  return { packages: lock.lockedPackages(plan), keyringFingerprints: await lock.keyFingerprints(config, plan), repositoryIndexes: lock.indexChecksums?.(plan) ?? [] };
}
