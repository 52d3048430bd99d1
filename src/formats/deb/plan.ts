/**
 * Planning a Debian/Ubuntu install, outside the namespace: fetch and verify
 * InRelease, fetch the Packages indexes it vouches for, pick the base set and
 * resolve dependencies. Nothing is written but the download cache.
 */
import { UserError } from '../../util/errors.ts';
import { memoizedPlan } from '../planning.ts';
import type { InstallPlan, PlanContext, PlannedPackage } from '../types.ts';
import type { DebPackage, MultiArch } from './packages.ts';
import { pickIndex } from './release.ts';
import { fetchPackagesIndex, fetchRelease, type ArchiveAccess } from './archive.ts';
import { resolveDependencies, selectBaseSet, type BaseVariant } from './resolve.ts';

/** What install() needs besides the package list (JSON-serialisable). */
export interface DebPlanExtra {
  mirror: string;
  release: string;
  components: string[];
  architecture: string;
  mergedUsrLinks: string[];
}

/** What each planned package carries for install(): how dpkg names its info files, and its source package. */
export interface DebPackageExtra {
  multiArch: MultiArch;
  source: { name: string; version: string };
}

export type DebInstallPlan = InstallPlan<'deb', DebPlanExtra, DebPackageExtra>;

export async function planDeb(ctx: PlanContext): Promise<DebInstallPlan> {
  const { config, distribution } = ctx;
  const mirror = config['distribution.mirror'].replace(/\/+$/, '');
  const suite = config['distribution.release'];
  const arch = config['distribution.architecture'];
  const warnings: string[] = [];
  const access: ArchiveAccess = {
    store: ctx.store,
    emit: ctx.emit,
    signal: ctx.signal,
    limits: ctx.limits,
    keyring: config['distribution.verify-signatures'] ? config['distribution.keyring'] : undefined,
    warnings,
    dateChecks: { checkValidUntil: config['distribution.check-valid-until'], checkDate: config['distribution.check-date'] },
  };
  const release = await fetchRelease(access, mirror, suite);
  if (release.architectures.length && !release.architectures.includes(arch)) {
    throw new UserError(
      `${distribution.pretty} ${suite} at ${mirror} has no architecture "${arch}"`,
      `it has: ${release.architectures.filter((a) => a !== 'all').join(', ')}`,
    );
  }
  const mergedUsrLinks = distribution.mergedUsrLinks(suite, arch);
  // The configuration offers Debian no other base set (no tiny).
  const variant = config['packages.base'] as BaseVariant;
  // "none": exactly packages.install, nothing implied.
  const extra = [...(variant === 'none' ? [] : distribution.alwaysInstall), ...config['packages.install']];
  // On a merged-/usr layout, usr-is-merged says so (rather than usrmerge converting it).
  const prefer = mergedUsrLinks.length ? ['usr-is-merged'] : [];
  const indexes = config['distribution.repositories'].map((c) => ({ base: `${c}/binary-${arch}/Packages`, file: pickIndex(release, `${c}/binary-${arch}/Packages`)?.file }));
  // The resolved list only changes with the signed indexes and the request: reuse it.
  const origins = new Map<string, string>(distribution.alwaysInstall.map((name) => [name, `${distribution.pretty}'s packages, added by kiln`]));
  for (const name of config['packages.install']) origins.set(name, `packages.install, ${ctx.origins.install[name] ?? 'the configuration'}`);
  const packages = await memoizedPlan(ctx, 'deb-plan', [mirror, suite, arch, indexes, variant, extra, prefer], async () => {
    const universe: DebPackage[] = [];
    for (const { base } of indexes) universe.push(...(await fetchPackagesIndex(access, mirror, suite, release, base)));
    return resolvePlan(universe, arch, variant, extra, prefer, mirror, origins);
  });
  const planExtra: DebPlanExtra = { mirror, release: suite, components: config['distribution.repositories'], architecture: arch, mergedUsrLinks };
  return { format: 'deb', packages, repositoryDate: release.date, mirrors: [mirror], extra: planExtra, warnings };
}

function resolvePlan(universe: DebPackage[], arch: string, variant: BaseVariant, extra: string[], prefer: string[], mirror: string, origins: Map<string, string>): PlannedPackage<DebPackageExtra>[] {
  const base = selectBaseSet(universe, variant, arch);
  const implied = variant === 'none' ? [] : prefer.filter((p) => universe.some((u) => u.name === p));
  const resolved = resolveDependencies({ universe, architectures: [arch], want: [...base, ...implied, ...extra], prefer, origins });
  const baseNames = new Set(base);
  return resolved.packages.map((p) => ({
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    size: p.size,
    installedSize: p.installedSize,
    sha256: p.sha256,
    urls: [`${mirror}/${p.filename}`],
    reason: baseNames.has(p.name) ? `base set (${variant})` : (resolved.reasons.get(p.name) ?? 'requested'),
    extra: { multiArch: p.multiArch, source: p.source },
  }));
}

