/**
 * Installing a planned apk package set into a root, inside the namespace:
 * apk's --initdb skeleton, every package unpacked natively in install order
 * (later packages may overwrite what they replace), the database apk keeps
 * (installed-db.ts), then the scripts and triggers inside the root in one
 * sandbox (scripts.ts).
 */
import { step } from '../../pipeline/step.ts';
import { Tree } from '../../tree/index.ts';
import { extractPackages } from '../extract-packages.ts';
import { ensureMountPoints } from '../mount-points.ts';
import type { InstallContext, PlannedPackage } from '../types.ts';
import { APK_SKELETON, INSTALLED, SCRIPTS_TAR, TRIGGERS, installedEntry, scriptsTar, triggersFile, writeApkState } from './installed-db.ts';
import type { ApkInstallPlan, ApkPackageExtra } from './plan.ts';
import { runApkScripts } from './scripts.ts';
import { keysFromPlan, type TrustedKey } from './trust.ts';
import { unpackApk, type FileOwners, type UnpackedApk } from './unpack.ts';

/** The keys each package is checked with; undefined for one taken unverified (checks off, or the trust-first-download keys package). */
export function keysFor(plan: ApkInstallPlan): (p: PlannedPackage<ApkPackageExtra>) => TrustedKey[] | undefined {
  const trusted = keysFromPlan(plan.extra.keys);
  const signed = new Map(plan.extra.sources.map((s) => [s.name, s.signed]));
  return (p) => (signed.get(p.extra.repo) && !plan.extra.unverified.includes(p.name) ? trusted : undefined);
}

/** The unpack stage: the skeleton, every package's files, the database. */
export async function unpackApks(ctx: InstallContext<ApkInstallPlan>): Promise<UnpackedApk[]> {
  const { root, plan, emit } = ctx;
  const tree = new Tree(root);
  await step(emit, 'skeleton', async () => {
    for (const [dir, mode] of APK_SKELETON) if (!tree.exists(dir)) tree.mkdir(dir, { mode });
  });
  const owners: FileOwners = new Map();
  const keys = keysFor(plan);
  // In install order, one after another: a later package's files win where it replaces an earlier one's.
  const unpacked = await extractPackages(ctx, { unpack: (data, p, extractor) => unpackApk(data, p, extractor, { keys: keys(p), owners }), alone: plan.packages.length, xattrs: true });
  ensureMountPoints(tree, { packageModes: true });
  await step(emit, 'database', async () => {
    const entries = plan.packages.map((p, i) => installedEntry(p.extra.record, unpacked[i] as UnpackedApk, (path) => owners.get(path)?.name === p.name, p.extra.tag));
    tree.write(INSTALLED, entries.join(''), { mode: 0o644, mtime: ctx.sourceDateEpoch });
    tree.write(SCRIPTS_TAR, scriptsTar(unpacked, ctx.sourceDateEpoch), { mode: 0o644, mtime: ctx.sourceDateEpoch });
    tree.write(TRIGGERS, triggersFile(unpacked), { mode: 0o644, mtime: ctx.sourceDateEpoch });
    writeApkState(tree, { world: plan.extra.world, repositories: plan.extra.sources.map((s) => s.line), architecture: plan.extra.architecture, keys: plan.extra.keys });
  });
  return unpacked;
}

/** The configure stage: the scripts and triggers in the root. */
export async function configureApks(ctx: InstallContext<ApkInstallPlan>, unpacked: UnpackedApk[]): Promise<void> {
  await step(ctx.emit, 'scripts', () => runApkScripts(ctx, unpacked), (r) => `${r.scripts} scripts, ${r.triggers} triggers`);
}
