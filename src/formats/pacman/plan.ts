/**
 * Planning a pacman install, outside the namespace: fetch each repository's
 * database, resolve the base set and the requested packages, and say where
 * every package and its signature come from. Signatures are checked after the
 * download (verify.ts); nothing is written but the download cache.
 */
import { createHash } from 'node:crypto';
import { fetchBytes, fetchMutableIndex } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import type { Config } from '../../config/index.ts';
import { memoizedPlan, signatureChecksOff } from '../planning.ts';
import type { InstallPlan, PlanContext, PlannedPackage } from '../types.ts';
import { readRepoDb } from './db.ts';
import { resolvePacman } from './resolve.ts';
import type { PacmanPackage, PacmanRepository } from './types.ts';
import { anchorsFrom } from './verify.ts';
import { lockedPacmanPackages } from './lock.ts';

/** A repository as kiln uses it: where it is and whose keys sign it. */
export interface PacmanSource {
  name: string;
  /** URL of the repository directory, $repo and $arch filled in. */
  url: string;
  /** The mirror pattern as configured (for the image's mirrorlist). */
  server: string;
  /** Packages must carry a good signature (pacman's SigLevel = Required). */
  signed: boolean;
  /** Trust anchors of a third-party repository; the distribution's when undefined. */
  keyring?: string[];
  third: boolean;
}

/** What verify() and install() need besides the package list (JSON-serialisable). */
export interface PacmanPlanExtra {
  architecture: string;
  sources: PacmanSource[];
  /** Packages whose keyrings the image populates on first boot (pacman-init.service: pacman-key --populate). */
  keyringPackages: string[];
}

/** What each planned package carries for verify() and install(). */
export interface PacmanPackageExtra {
  repo: string;
  explicit: boolean;
  /** Base64 signature from the database, when it has one; else `${url}.sig` is fetched. */
  pgpsig?: string;
  /** %BUILDDATE%, seconds: the newest is the plan's repositoryDate. */
  builddate?: number;
}

export type PacmanInstallPlan = InstallPlan<'pacman', PacmanPlanExtra, PacmanPackageExtra>;

/** The configured repositories for `arch` (default: the build's architecture; native twins ask for the host's). */
export function pacmanSources(config: Config, arch = config['distribution.architecture']): PacmanSource[] {
  const fill = (pattern: string, repo: string) => pattern.replaceAll('$repo', repo).replaceAll('$arch', arch).replace(/\/+$/, '');
  const mirrors = config['distribution.repository-mirrors'];
  const signed = config['distribution.verify-signatures'];
  const sources: PacmanSource[] = config['distribution.repositories'].map((name) => {
    const server = mirrors[name] ?? config['distribution.mirror'];
    return { name, url: fill(server, name), server, signed, third: false };
  });
  for (const extra of config['distribution.extra-repositories']) {
    if (extra.tag !== undefined) throw new UserError(`distribution.extra-repositories: ${extra.name} has a tag, which only apk's repositories take`, 'leave tag out: pacman uses every configured repository');
    if (extra.architectures && !extra.architectures.includes(arch)) continue;
    sources.push({
      name: extra.name,
      url: fill(extra.server, extra.name),
      server: extra.server,
      signed: signed && extra['signature-level'] !== 'never',
      keyring: extra.keyring,
      third: true,
    });
  }
  return sources;
}

export async function planPacman(ctx: PlanContext): Promise<PacmanInstallPlan> {
  const { config, distribution, emit } = ctx;
  const arch = config['distribution.architecture'];
  const sources = pacmanSources(config);
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.name)) throw new UserError(`repository "${s.name}" is listed twice`, 'give each repository in distribution.repositories and extra-repositories its own name');
    seen.add(s.name);
  }
  if (ctx.lock) {
    // Exactly the locked set: no database is read; the packages' signatures are still checked after the download.
    for (const s of sources) if (!s.signed) signatureChecksOff({ warnings, emit }, `for repository ${s.name}: its packages are installed unverified`);
    const { lock } = ctx;
    const extra: PacmanPlanExtra = { architecture: arch, sources, keyringPackages: keyringPackagesOf(ctx, sources).keyringPackages };
    const newest = lock.newestPackageDate !== undefined ? { newestPackageDate: lock.newestPackageDate } : {};
    return { format: 'pacman', packages: lockedPacmanPackages(lock, sources, arch), repositoryDate: lock.repositoryDate, mirrors: sources.map((s) => s.url), ...newest, extra, warnings };
  }
  // Databases change with every repository update: asked for each build, like `pacman -Sy`, but only downloaded again when changed (fetchMutableIndex).
  const databases = await Promise.all(
    sources.map(async (s) => {
      const data = await fetchDatabase(ctx, s);
      if (!data) throw new UserError(`${databaseUrl(s)} not found: no repository "${s.name}" for ${arch} at this mirror`, 'check distribution.mirror (a pattern with $repo and $arch), distribution.repositories and the architecture');
      return { source: s, data, sha256: createHash('sha256').update(data).digest('hex') };
    }),
  );
  for (const s of sources) if (!s.signed) signatureChecksOff({ warnings, emit }, `for repository ${s.name}: its packages are installed unverified`);

  const variant = config['packages.base'];
  const base = distribution.baseSets?.[variant] ?? [];
  const { thirdKeyrings, keyringPackages } = keyringPackagesOf(ctx, sources);
  const keysFromPackage = config['distribution.keyring-bootstrap'] === 'trust-first-download' && config['distribution.keyring'].length === 0;
  const implied = variant === 'none' && !keysFromPackage ? thirdKeyrings : keyringPackages;
  const targets = [...base, ...implied, ...config['packages.install']];
  const origins = targetOrigins(ctx, base, implied, thirdKeyrings);
  const packages = await memoizedPlan(ctx, 'pacman-plan', [arch, databases.map((d) => [d.source.name, d.source.url, d.sha256]), targets], async () => {
    const repositories: PacmanRepository[] = [];
    for (const d of databases) repositories.push({ name: d.source.name, packages: await readDb(d.data, d.source.name, `${d.source.url}/${d.source.name}.db`) });
    return resolvePlan(repositories, targets, origins, new Map(sources.map((s) => [s.name, s])), base);
  });
  const extra: PacmanPlanExtra = { architecture: arch, sources, keyringPackages };
  const repositoryDate = Math.max(0, ...packages.map((p) => p.extra.builddate ?? 0));
  // A database entry without %BUILDDATE% leaves the newest build date unknown.
  const newestPackageDate = packages.every((p) => p.extra.builddate !== undefined) && packages.length ? repositoryDate : undefined;
  return { format: 'pacman', packages, repositoryDate, mirrors: sources.map((s) => s.url), ...(newestPackageDate !== undefined ? { newestPackageDate } : {}), extra, warnings };
}

/**
 * The keyring packages of the distribution and of third-party repositories, which are installed and populated;
 * with packages.base = "none" the distribution's only when the keys are to be taken from it (keyring-bootstrap).
 */
function keyringPackagesOf(ctx: PlanContext, sources: PacmanSource[]): { thirdKeyrings: string[]; keyringPackages: string[] } {
  const thirdKeyrings = ctx.config['distribution.extra-repositories'].filter((r) => sources.some((s) => s.third && s.name === r.name)).flatMap((r) => (r['keyring-package'] ? [r['keyring-package']] : []));
  return { thirdKeyrings, keyringPackages: [...(ctx.distribution.keyringPackages ?? []), ...thirdKeyrings] };
}

export const databaseUrl = (s: PacmanSource) => `${s.url}/${s.name}.db`;

/** A repository's database, its published signature checked; undefined when the mirror has none. */
export async function fetchDatabase(ctx: DatabaseContext, source: PacmanSource): Promise<Buffer | undefined> {
  const url = databaseUrl(source);
  const data = await fetchMutableIndex(ctx, { url, name: `${source.name}.db`, recordKind: 'pacman-db' });
  if (data) await checkDatabaseSignature(ctx, source, url, data);
  return data;
}

type DatabaseContext = Pick<PlanContext, 'config' | 'store' | 'memoDir' | 'emit' | 'signal' | 'limits'>;

/**
 * pacman's DatabaseOptional: a database signature, where the repository
 * publishes one, must be good; without one the packages' own signatures
 * carry the trust. (With keyring-bootstrap, the keys come only after the
 * download: the packages' signatures are checked then.)
 */
async function checkDatabaseSignature(ctx: DatabaseContext, source: PacmanSource, url: string, data: Buffer): Promise<void> {
  const anchors = source.keyring ?? ctx.config['distribution.keyring'];
  if (!source.signed || !anchors.length) return;
  const signature = await fetchBytes(`${url}.sig`, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal, name: `${source.name}.db.sig`, missingOk: true, maxBytes: 1 << 16 });
  if (!signature) return;
  await anchorsFrom(anchors).verifyDetached(data, signature, url);
}

export async function readDb(data: Buffer, repo: string, url: string): Promise<PacmanPackage[]> {
  try {
    return await readRepoDb(data, repo);
  } catch (err) {
    throw new UserError(`${url}: not a readable pacman database (${(err as Error).message})`, 'the mirror may be broken or not a pacman repository', { cause: err });
  }
}

/** Who asked for each target: kiln's base set, a keyring package, or the config (file:line, board). */
function targetOrigins(ctx: PlanContext, base: string[], implied: string[], thirdKeyrings: string[]): Map<string, string> {
  const variant = ctx.config['packages.base'];
  const origins = new Map<string, string>();
  for (const name of base) origins.set(name, `${ctx.distribution.pretty}'s base set: packages.base = "${variant}" (${ctx.origins.base}); "none" installs exactly packages.install`);
  for (const name of implied) {
    origins.set(name, thirdKeyrings.includes(name) ? 'the keyring-package of distribution.extra-repositories' : `${ctx.distribution.pretty}'s keyring package, added by kiln${variant === 'none' ? ' (keyring-bootstrap takes the keys from it)' : ''}`);
  }
  for (const name of ctx.config['packages.install']) origins.set(name, `packages.install, ${ctx.origins.install[name] ?? 'the configuration'}`);
  return origins;
}

function resolvePlan(repositories: PacmanRepository[], targets: string[], origins: Map<string, string>, sources: Map<string, PacmanSource>, base: string[]): PlannedPackage<PacmanPackageExtra>[] {
  const resolved = resolvePacman({ repositories, targets, origins });
  const baseNames = new Set(base);
  return resolved.packages.map((p) => {
    const source = sources.get(p.repo) as PacmanSource;
    const packageExtra: PacmanPackageExtra = { repo: p.repo, explicit: resolved.explicit.has(p.name), pgpsig: p.pgpsig, builddate: p.builddate };
    return {
      name: p.name,
      version: p.version,
      architecture: p.arch,
      size: p.csize,
      installedSize: p.isize,
      sha256: p.sha256,
      urls: [`${source.url}/${p.filename}`],
      reason: baseNames.has(p.name) ? 'base set' : (resolved.reasons.get(p.name) ?? 'requested'),
      extra: packageExtra,
    };
  });
}
