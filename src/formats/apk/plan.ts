/**
 * Planning an Alpine install, outside the namespace: each repository's
 * APKINDEX.tar.gz fetched and its signature checked against the trusted
 * keys (keys.ts), the world resolved (resolve.ts), and each chosen package
 * fetched once and checked against the index (package.ts) to learn the
 * sha256 the download stage verifies it by: the index vouches for a
 * package's control stream (C:), not for its file's sha256. What a package
 * file hashes to is kept under the memo directory by its checksum, so a
 * later plan fetches nothing it has seen.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadToStore, fetchMutableIndex, writeJsonAtomic } from '../../repo/index.ts';
import { mapLimit } from '../../util/concurrency.ts';
import { UserError } from '../../util/errors.ts';
import { memoizedPlan, planWarning, signatureChecksOff } from '../planning.ts';
import type { InstallPlan, LockedSet, PlanContext, PlannedPackage } from '../types.ts';
import { readApkIndex } from './apkindex.ts';
import { apkKeyFingerprint, bootstrapKeys, configuredKeys, noKeysError, type PlanKey } from './keys.ts';
import { readApkPackage } from './package.ts';
import { resolveApk } from './resolve.ts';
import { apkSources, type ApkSource } from './sources.ts';
import { keysFromPlan } from './trust.ts';
import { lockedApkPackages, lockedBootstrapKeys } from './lock.ts';
import { apkWorld } from './world.ts';
import type { ApkPackage, ApkRepository } from './types.ts';

/** What verify() and install() need besides the package list (JSON-serialisable). */
export interface ApkPlanExtra {
  architecture: string;
  sources: ApkSource[];
  /** /etc/apk/world: the world dependencies, as asked for. */
  world: string[];
  /** The keys the indexes and packages were checked with: /etc/apk/keys in the image. */
  keys: PlanKey[];
  /** Packages taken without a signature check (the trust-first-download keys package). */
  unverified: string[];
  /** The sha256 of each repository's APKINDEX.tar.gz the set was resolved from (none for a plan from kiln.lock). */
  indexes: { repo: string; sha256: string }[];
}

/** What each planned package carries for verify() and install(). */
export interface ApkPackageExtra {
  repo: string;
  /** The tag of its repository, when it is a tagged one (installed as `s:TAG`). */
  tag?: string;
  /** C: of the index, `Q1` + base64 SHA1 of the control stream. */
  checksum: string;
  /** The index record's fields, for /lib/apk/db/installed. */
  record: ApkPackage;
}

export type ApkInstallPlan = InstallPlan<'apk', ApkPlanExtra, ApkPackageExtra>;

export async function planApk(ctx: PlanContext): Promise<ApkInstallPlan> {
  const { config, distribution, emit } = ctx;
  const arch = config['distribution.architecture'];
  const sources = apkSources(config);
  const warnings: string[] = [];
  const sink = { warnings, emit };
  const signed = config['distribution.verify-signatures'];
  if (!signed) signatureChecksOff(sink, 'for the Alpine repositories: indexes and packages are installed unverified');
  for (const s of sources) if (s.third && !s.signed) signatureChecksOff(sink, `for repository ${s.name}: its packages are installed unverified`);
  if (ctx.lock) return planFromLock(ctx, ctx.lock, sources, sink);

  const files = await Promise.all(
    sources.map(async (s) => {
      const url = `${s.url}/APKINDEX.tar.gz`;
      const data = await fetchMutableIndex(ctx, { url, name: `${s.name}/APKINDEX.tar.gz`, recordKind: 'apk-index' });
      if (!data) throw new UserError(`${url} not found: no repository "${s.name}" for ${arch} at this mirror`, `check distribution.mirror (packages are at MIRROR/${config['distribution.release']}/REPOSITORY/ARCH/), distribution.release, distribution.repositories and the architecture`);
      return { source: s, url, data, sha256: createHash('sha256').update(data).digest('hex') };
    }),
  );
  let keys = signed ? configuredKeys(config) : [];
  const unverified: string[] = [];
  if (signed && keys.length === 0) {
    if (config['distribution.keyring-bootstrap'] !== 'trust-first-download') throw noKeysError(config, files[0]?.url ?? 'the index');
    const boot = await bootstrapKeys(ctx, files.map((f) => ({ source: f.source, url: f.url, data: f.data })), distribution.keyringPackages?.[0] ?? 'alpine-keys', arch);
    keys = boot.keys;
    unverified.push(boot.packageName);
    planWarning(sink, `trust-first-download: the apk keys were taken unverified from ${boot.packageName} ${boot.version} (${boot.url}); everything else is checked with them`);
  }
  const trusted = keysFromPlan(keys);
  const repositories: ApkRepository[] = [];
  for (const f of files) {
    const anchors = !f.source.signed ? undefined : f.source.keyring ? keysFromPlan(configuredKeys(config, f.source.keyring)) : trusted;
    const index = await readApkIndex(f.data, f.url, f.source.name, anchors);
    repositories.push({ name: f.source.name, ...(f.source.tag !== undefined ? { tag: f.source.tag } : {}), packages: index.packages.filter((p) => p.arch === arch || p.arch === 'noarch') });
  }

  const { world, origins } = apkWorld(ctx, unverified);
  const bySource = new Map(sources.map((s) => [s.name, s]));
  const packages = await memoizedPlan(ctx, 'apk-plan', [arch, files.map((f) => [f.source.name, f.url, f.sha256, f.source.tag ?? null]), world, keys.map((k) => k.name)], async () => {
    const resolved = resolveApk({ repositories, targets: world, origins });
    return mapLimit(resolved.packages, 4, async (p): Promise<PlannedPackage<ApkPackageExtra>> => {
      const source = bySource.get(p.repo) as ApkSource;
      const url = `${source.url}/${p.name}-${p.version}.apk`;
      const planned = { name: p.name, version: p.version, architecture: p.arch };
      const sha256 = await packageSha256(ctx, url, p, planned, source.signed && !unverified.includes(p.name) ? (source.keyring ? keysFromPlan(configuredKeys(config, source.keyring)) : trusted) : undefined);
      const tag = source.tag !== undefined ? { tag: source.tag } : {};
      return { ...planned, size: p.size, installedSize: p.installedSize, sha256, urls: [url], reason: resolved.reasons.get(p.name) ?? 'requested', extra: { repo: p.repo, ...tag, checksum: p.checksum, record: p } };
    });
  });
  const dates = packages.map((p) => p.extra.record.buildTime);
  const newest = Math.max(0, ...dates.map((d) => d ?? 0));
  const newestPackageDate = packages.length && dates.every((d) => d !== undefined) ? newest : undefined;
  const extra: ApkPlanExtra = { architecture: arch, sources, world, keys, unverified, indexes: files.map((f) => ({ repo: f.source.name, sha256: f.sha256 })) };
  return { format: 'apk', packages, repositoryDate: newest, mirrors: sources.map((s) => s.url), ...(newestPackageDate !== undefined ? { newestPackageDate } : {}), extra, warnings };
}

/**
 * Exactly kiln.lock's set: no index read, the keys configured (or, with
 * trust-first-download, taken from the locked keys package), the world as
 * configured.
 */
async function planFromLock(ctx: PlanContext, lock: LockedSet, sources: ApkSource[], sink: { warnings: string[]; emit: PlanContext['emit'] }): Promise<ApkInstallPlan> {
  const { config, distribution } = ctx;
  const arch = config['distribution.architecture'];
  const signed = config['distribution.verify-signatures'];
  const keysPackage = distribution.keyringPackages?.[0] ?? 'alpine-keys';
  let keys = signed ? configuredKeys(config) : [];
  const bootstrap = signed && keys.length === 0;
  if (bootstrap && config['distribution.keyring-bootstrap'] !== 'trust-first-download') throw noKeysError(config, 'the packages of kiln.lock');
  const unverified = bootstrap ? [keysPackage] : [];
  const { world } = apkWorld(ctx, unverified);
  const packages = lockedApkPackages(lock, sources, world, config['distribution.release'], arch);
  if (bootstrap) {
    keys = (await lockedBootstrapKeys(ctx, packages, keysPackage, arch)).keys;
    checkLockedKeys(lock, keys, keysPackage);
    planWarning(sink, `trust-first-download: the apk keys were taken from ${keysPackage} as kiln.lock pins it (by sha256); everything else is checked with them`);
  }
  const extra: ApkPlanExtra = { architecture: arch, sources, world, keys, unverified, indexes: [] };
  const newest = lock.newestPackageDate !== undefined ? { newestPackageDate: lock.newestPackageDate } : {};
  return { format: 'apk', packages, repositoryDate: lock.repositoryDate, mirrors: sources.map((s) => s.url), ...newest, extra, warnings: sink.warnings };
}

/** trust-first-download with a lock: every key the locked keys package gives must be one kiln.lock recorded (keyring-fingerprints). */
function checkLockedKeys(lock: LockedSet, keys: readonly PlanKey[], keysPackage: string): void {
  const recorded = new Set(lock.keyringFingerprints ?? []);
  const unknown = keys.map(apkKeyFingerprint).filter((f) => !recorded.has(f));
  if (unknown.length) throw new UserError(`kiln.lock: ${keysPackage} as locked holds keys the lock did not record (${unknown.join(', ')})`, 'run kiln lock --update to record them, after checking where they come from');
}

/**
 * The sha256 of a package's file: remembered by its checksum, else fetched into the store
 * and checked against the index (checksum, signature, datahash) before it is believed.
 */
async function packageSha256(ctx: PlanContext, url: string, p: ApkPackage, planned: Pick<PlannedPackage, 'name' | 'version' | 'architecture'>, keys: ReturnType<typeof keysFromPlan> | undefined): Promise<string> {
  const record = join(ctx.memoDir, 'apk-files', `${Buffer.from(p.checksum).toString('hex')}.json`);
  const known = await readFile(record, 'utf8').then((t) => (JSON.parse(t) as { sha256: string }).sha256, () => undefined);
  if (known && (await ctx.store.has(known))) return known;
  const got = await downloadToStore(ctx.store, { urls: [url], name: `${p.name}-${p.version}.apk`, size: p.size }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal });
  await readApkPackage(await readFile(got.path), planned, url, { keys, checksum: p.checksum });
  await writeJsonAtomic(record, { sha256: got.sha256 }).catch(() => undefined);
  return got.sha256;
}
