/**
 * Reading a Debian archive: the signed InRelease and the Packages indexes it
 * vouches for (SHA256 checked, cached by content).
 */
import { text } from 'node:stream/consumers';
import { decompress } from '../../archive/index.ts';
import { fetchBytes, loadKeyring, readVerified, verifyClearsigned, type BlobStore, type DownloadLimits } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import type { Emit } from '../../util/events.ts';
import { parsePackages, type DebPackage } from './packages.ts';
import { checkReleaseName, parseRelease, pickIndex, type Release } from './release.ts';
import { checkIndexFreshness } from '../freshness.ts';
import { planWarning, signatureChecksOff } from '../planning.ts';

export interface ArchiveAccess {
  store: BlobStore;
  emit: Emit;
  signal?: AbortSignal;
  limits?: DownloadLimits;
  /** Keyrings to verify InRelease against; undefined = signature checks off (warned). */
  keyring?: string[];
  /** Warnings for the build log collect here. */
  warnings: string[];
  /** Which date checks of the Release to make (default: all, as apt does). */
  dateChecks?: { checkValidUntil: boolean; checkDate: boolean };
}

/**
 * The verified InRelease texts of one build, by its signal (the one every
 * part of a build shares): the plan, the native twins' host index and the
 * busybox kiln takes from the archive read one release, fetched and
 * checked once, not three times.
 */
const verifiedReleases = new WeakMap<AbortSignal, Map<string, Promise<string>>>();

export async function fetchRelease(ctx: ArchiveAccess, mirror: string, suite: string): Promise<Release> {
  const url = `${mirror}/dists/${suite}/InRelease`;
  let clear: string;
  if (ctx.keyring) {
    const key = JSON.stringify([url, ctx.keyring]);
    const memo = ctx.signal ? (verifiedReleases.get(ctx.signal) ?? verifiedReleases.set(ctx.signal, new Map()).get(ctx.signal)!) : undefined;
    let verified = memo?.get(key);
    if (!verified) {
      verified = fetchSignedRelease(ctx, url, suite).then(async (signed) => verifyClearsigned(signed, await loadKeyring(ctx.keyring!), { source: url }));
      memo?.set(key, verified);
      verified.catch(() => memo?.delete(key));
    }
    clear = await verified;
  } else {
    const signed = await fetchSignedRelease(ctx, url, suite);
    signatureChecksOff(ctx, `(distribution.verify-signatures = false): ${url} is trusted unverified`);
    clear = stripClearsign(signed);
  }
  const release = parseRelease(clear, url);
  checkReleaseName(release, suite, url);
  const policy = { checkValidUntil: true, checkDate: true, ...ctx.dateChecks, now: Math.floor(Date.now() / 1000) };
  for (const warning of checkIndexFreshness({ source: url, date: release.date || undefined, validUntil: release.validUntil }, policy)) planWarning(ctx, warning);
  return release;
}

async function fetchSignedRelease(ctx: ArchiveAccess, url: string, suite: string): Promise<string> {
  const signed = (await fetchBytes(url, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal, name: 'InRelease', missingOk: true }))?.toString('utf8');
  if (signed === undefined) throw new UserError(`${url} not found: no release "${suite}" at this mirror`, 'check the release and mirror settings');
  return signed;
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

export async function fetchPackagesIndex(ctx: ArchiveAccess, mirror: string, suite: string, release: Release, base: string): Promise<DebPackage[]> {
  const picked = pickIndex(release, base);
  if (!picked) throw new UserError(`${mirror}/dists/${suite}: the Release file lists no ${base} index`, 'check the components and architecture settings');
  const raw = await readVerified(
    ctx.store,
    { urls: [`${mirror}/dists/${suite}/${picked.file.path}`], sha256: picked.file.sha256, size: picked.file.size, name: picked.file.path },
    { ...ctx.limits, emit: ctx.emit, signal: ctx.signal },
  );
  const body = picked.compression === 'none' ? raw.toString('utf8') : await text(decompress(raw, picked.compression));
  return parsePackages(body, base);
}
