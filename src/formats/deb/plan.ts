/**
 * Planning a Debian/Ubuntu install, outside the namespace: fetch and verify
 * InRelease, fetch the Packages indexes it vouches for, pick the base set and
 * resolve dependencies. Nothing is written but the download cache.
 */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { decompress } from '../../archive/index.ts';
import { downloadToStore, fetchBytes, loadKeyring, memoized, memoKey, verifyClearsigned } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import type { InstallPlan, PlanContext, PlannedPackage } from '../types.ts';
import { parsePackages, type DebPackage } from './packages.ts';
import { parseRelease, pickIndex, type Release } from './release.ts';
import { resolveDependencies, selectBaseSet, type BaseVariant } from './resolve.ts';

/** What install() needs besides the package list (JSON-serialisable). */
export interface DebPlanExtra {
  [key: string]: unknown;
  mirror: string;
  release: string;
  components: string[];
  architecture: string;
  mergedUsrLinks: string[];
}

export async function planDeb(ctx: PlanContext): Promise<InstallPlan> {
  const { config, distribution } = ctx;
  const mirror = config['distribution.mirror'].replace(/\/+$/, '');
  const suite = config['distribution.release'];
  const arch = config['distribution.architecture'];
  const warnings: string[] = [];
  const release = await fetchRelease(ctx, mirror, suite, warnings);
  if (release.architectures.length && !release.architectures.includes(arch)) {
    throw new UserError(
      `${distribution.pretty} ${suite} at ${mirror} has no architecture "${arch}"`,
      `it has: ${release.architectures.filter((a) => a !== 'all').join(', ')}`,
    );
  }
  const mergedUsrLinks = distribution.mergedUsrLinks(suite, arch);
  const extra = [...distribution.alwaysInstall, ...config['packages.install']];
  // On a merged-/usr layout, usr-is-merged says so (rather than usrmerge converting it).
  const prefer = mergedUsrLinks.length ? ['usr-is-merged'] : [];
  const indexes = config['distribution.components'].map((c) => ({ base: `${c}/binary-${arch}/Packages`, file: pickIndex(release, `${c}/binary-${arch}/Packages`)?.file }));
  // The resolved list only changes with the signed indexes and the request: reuse it.
  const key = memoKey('deb-plan', ctx.kilnVersion, mirror, suite, arch, indexes, config['packages.base'], extra, prefer);
  const { value: packages } = await memoized(ctx.memoDir, key, async () => {
    const universe: DebPackage[] = [];
    for (const { base } of indexes) universe.push(...(await fetchPackagesIndex(ctx, mirror, suite, release, base)));
    return resolvePlan(universe, arch, config['packages.base'], extra, prefer, mirror);
  });
  const planExtra: DebPlanExtra = { mirror, release: suite, components: config['distribution.components'], architecture: arch, mergedUsrLinks };
  return { format: 'deb', packages, repositoryDate: release.date, extra: planExtra, warnings };
}

function resolvePlan(universe: DebPackage[], arch: string, variant: BaseVariant, extra: string[], prefer: string[], mirror: string): PlannedPackage[] {
  const base = selectBaseSet(universe, variant, arch);
  const resolved = resolveDependencies({
    universe,
    architectures: [arch],
    want: [...base, ...prefer.filter((p) => universe.some((u) => u.name === p)), ...extra],
    prefer,
  });
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

async function fetchRelease(ctx: PlanContext, mirror: string, suite: string, warnings: string[]): Promise<Release> {
  const url = `${mirror}/dists/${suite}/InRelease`;
  const opts = { emit: ctx.emit, signal: ctx.signal, name: 'InRelease' };
  const signed = (await fetchBytes(url, { ...opts, missingOk: true }))?.toString('utf8');
  if (signed === undefined) {
    throw new UserError(`${url} not found: no release "${suite}" at this mirror`, 'check the release and mirror settings');
  }
  let clear: string;
  if (ctx.config['distribution.verify-signatures']) {
    const keys = await loadKeyring(ctx.config['distribution.keyring']);
    clear = await verifyClearsigned(signed, keys, { source: url });
  } else {
    const warning = `signature checks are OFF (distribution.verify-signatures = false): ${url} is trusted unverified`;
    warnings.push(warning);
    ctx.emit({ kind: 'log', level: 'warn', message: warning });
    clear = stripClearsign(signed);
  }
  return parseRelease(clear, url);
}

/** The cleartext of a clearsigned message, unverified (only with signature checks off). */
function stripClearsign(signed: string): string {
  const start = signed.indexOf('\n\n', signed.indexOf('-----BEGIN PGP SIGNED MESSAGE-----'));
  const end = signed.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (start < 0 || end < 0) return signed;
  return signed
    .slice(start + 2, end)
    .split('\n')
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l))
    .join('\n');
}

async function fetchPackagesIndex(ctx: PlanContext, mirror: string, suite: string, release: Release, base: string): Promise<DebPackage[]> {
  const picked = pickIndex(release, base);
  if (!picked) throw new UserError(`${mirror}/dists/${suite}: the Release file lists no ${base} index`, 'check the components and architecture settings');
  const blob = await downloadToStore(
    ctx.store,
    { urls: [`${mirror}/dists/${suite}/${picked.file.path}`], sha256: picked.file.sha256, size: picked.file.size, name: picked.file.path },
    { emit: ctx.emit, signal: ctx.signal },
  );
  const raw = await readFile(blob.path);
  const body = picked.compression === 'none' ? raw.toString('utf8') : await text(decompress(raw, picked.compression));
  return parsePackages(body, base);
}
