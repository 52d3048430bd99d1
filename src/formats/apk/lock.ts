/**
 * kiln.lock for Alpine: a plan's packages as the lock writes them (the file
 * name below its repository, the repository and its tag, the index's C:
 * checksum, and the index record's fields, which /lib/apk/db/installed
 * repeats), the repositories' index checksums and the keys' fingerprints;
 * and the plan made from a lock: no index read, exactly the locked
 * packages, each fetched from its repository on the mirror or, when the
 * mirror no longer has that version (Alpine's mirrors keep only the newest
 * of each), from the snapshot mirror ($release, $repo and $arch filled in).
 * The install order is apk's, from resolving the world again over exactly
 * the locked set, which also checks that the set is whole. The download is
 * checked against the lock's sha256; the control stream against its C:
 * and the trusted keys (verify.ts), as for a plan from the index.
 */
import { readFile } from 'node:fs/promises';
import { downloadToStore } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import { lockedPackage, lockedPlanned } from '../locking.ts';
import type { FormatLocking, LockedPackage, LockedSet, PlanContext, PlannedPackage } from '../types.ts';
import { apkKeyFingerprint, configuredKeys, keysInPackage, type PlanKey } from './keys.ts';
import { readApkPackage } from './package.ts';
import type { ApkInstallPlan, ApkPackageExtra } from './plan.ts';
import { resolveApk } from './resolve.ts';
import type { ApkSource } from './sources.ts';
import type { ApkPackage } from './types.ts';

const UPDATE = 'run kiln lock --update to write it again';

/** The index record's fields as facts (lists space-separated, as the index writes them); unset ones left out. */
function recordFacts(r: ApkPackage): Record<string, string | number> {
  const facts: Record<string, string | number | undefined> = {
    'installed-size': r.installedSize,
    description: r.description,
    homepage: r.url,
    license: r.license,
    origin: r.origin,
    maintainer: r.maintainer,
    'build-time': r.buildTime,
    commit: r.commit,
    'provider-priority': r.providerPriority,
    depends: r.depends.join(' ') || undefined,
    provides: r.provides.join(' ') || undefined,
    'install-if': r.installIf.join(' ') || undefined,
  };
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as Record<string, string | number>;
}

function lockedPackages(plan: ApkInstallPlan): LockedPackage[] {
  const sources = new Map(plan.extra.sources.map((s) => [s.name, s]));
  return plan.packages.map((p) => {
    const facts = { repo: p.extra.repo, ...(p.extra.tag !== undefined ? { tag: p.extra.tag } : {}), ...recordFacts(p.extra.record) };
    return lockedPackage(p, sources.get(p.extra.repo)?.url ?? '', facts, p.extra.checksum);
  });
}

/** The keys the plan's indexes were checked with (the configured ones, or those trust-first-download took), and third-party repositories' own. */
async function keyFingerprints(config: Parameters<FormatLocking<ApkInstallPlan>['keyFingerprints']>[0], plan: ApkInstallPlan): Promise<string[]> {
  const own = plan.extra.sources.flatMap((s) => (s.signed && s.keyring ? configuredKeys(config, s.keyring) : []));
  return [...new Set([...plan.extra.keys, ...own].map(apkKeyFingerprint))].sort();
}

function indexChecksums(plan: ApkInstallPlan): string[] {
  return plan.extra.indexes.map((i) => `${i.repo} sha256:${i.sha256}`);
}

export const apkLocking: FormatLocking<ApkInstallPlan> = { lockedPackages, keyFingerprints, indexChecksums };

/** The index record a locked package stands for, from its facts. */
function recordOf(p: LockedPackage, repo: string): ApkPackage {
  const str = (k: string) => (typeof p.facts[k] === 'string' ? (p.facts[k] as string) : undefined);
  const num = (k: string) => (typeof p.facts[k] === 'number' ? (p.facts[k] as number) : undefined);
  const words = (k: string) => (str(k) ?? '').split(' ').filter(Boolean);
  if (p.indexChecksum === undefined) throw new UserError(`kiln.lock: ${p.name} has no index-checksum`, UPDATE);
  const optional = { origin: str('origin'), maintainer: str('maintainer'), buildTime: num('build-time'), commit: str('commit'), providerPriority: num('provider-priority') };
  return {
    repo,
    checksum: p.indexChecksum,
    name: p.name,
    version: p.version,
    arch: p.architecture,
    size: p.size,
    installedSize: num('installed-size') ?? 0,
    description: str('description') ?? '',
    url: str('homepage') ?? '',
    license: str('license') ?? '',
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    depends: words('depends'),
    provides: words('provides'),
    installIf: words('install-if'),
  };
}

/**
 * The plan's packages from the lock, in apk's install order for `world`, each from its repository in `sources` or the snapshot
 * mirror; `release` and `arch` fill the snapshot pattern.
 */
export function lockedApkPackages(lock: LockedSet, sources: readonly ApkSource[], world: readonly string[], release: string, arch: string): PlannedPackage<ApkPackageExtra>[] {
  const byName = new Map(sources.map((s) => [s.name, s]));
  const planned = lock.packages.map((p) => {
    const repo = p.facts.repo;
    const source = typeof repo === 'string' ? byName.get(repo) : undefined;
    if (!source) throw new UserError(`kiln.lock: ${p.name} comes from repository ${JSON.stringify(repo)}, which the configuration does not have`, 'run kiln lock --update');
    const snapshot = lock.snapshotMirror?.replaceAll('$release', release).replaceAll('$repo', source.name).replaceAll('$arch', arch);
    const record = recordOf(p, source.name);
    return lockedPlanned(p, source.url, snapshot, { repo: source.name, ...(source.tag !== undefined ? { tag: source.tag } : {}), checksum: record.checksum, record });
  });
  // apk's order: the world resolved again over exactly these packages, their repositories' tags as configured.
  const repositories = sources.map((s) => ({ name: s.name, ...(s.tag !== undefined ? { tag: s.tag } : {}), packages: planned.filter((p) => p.extra.repo === s.name).map((p) => p.extra.record) }));
  const resolved = resolveApk({ repositories, targets: [...world], origins: new Map(world.map((w) => [w, 'kiln.lock'])) });
  const byKey = new Map(planned.map((p) => [p.extra.checksum, p]));
  const ordered = resolved.packages.map((r) => byKey.get(r.checksum) as PlannedPackage<ApkPackageExtra>);
  if (ordered.length !== planned.length) {
    const left = planned.filter((p) => !ordered.includes(p)).map((p) => p.name);
    throw new UserError(`kiln.lock: the world no longer pulls in ${left.join(', ')}`, UPDATE);
  }
  return ordered;
}

/** trust-first-download with a lock: the keys of the locked keys package, which the lock's sha256 vouches for. */
export async function lockedBootstrapKeys(ctx: PlanContext, packages: readonly PlannedPackage<ApkPackageExtra>[], packageName: string, arch: string): Promise<{ keys: PlanKey[]; packageName: string }> {
  const p = packages.find((x) => x.name === packageName);
  if (!p) throw new UserError(`kiln.lock has no ${packageName}, which keyring-bootstrap = "trust-first-download" takes the keys from`, UPDATE);
  const got = await downloadToStore(ctx.store, { urls: p.urls, name: `${p.name}-${p.version}.apk`, size: p.size, sha256: p.sha256 }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal });
  const label = got.url ?? p.urls[0] ?? p.name;
  const file = await readApkPackage(await readFile(got.path), p, label, { checksum: p.extra.checksum });
  return { keys: await keysInPackage(file, arch, label), packageName };
}
