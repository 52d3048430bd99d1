/**
 * What every format's kiln.lock support shares: package URLs relative to the
 * mirror they came from (so that a lock made on one host works with another
 * host's mirror), the URLs a locked package is fetched from (the mirror,
 * then the snapshot mirror), and the fingerprints of a keyring's keys.
 */
import { loadKeyring } from '../repo/index.ts';
import type { LockedPackage, PlannedPackage } from './types.ts';

/** `url` relative to `base` when it is below it, else `url` as it is. */
export function relativeUrl(url: string, base: string): string {
  const prefix = `${base.replace(/\/+$/, '')}/`;
  return url.startsWith(prefix) ? url.slice(prefix.length) : url;
}

/** A planned package as kiln.lock pins it: its URL relative to `base` (its mirror or repository), the format's facts, apk's index checksum. */
export function lockedPackage(p: PlannedPackage, base: string, facts: LockedPackage['facts'], indexChecksum?: string): LockedPackage {
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    url: relativeUrl(p.urls[0] ?? '', base),
    size: p.size,
    sha256: p.sha256,
    ...(indexChecksum !== undefined ? { indexChecksum } : {}),
    facts,
  };
}

/** Where a locked package is fetched from, in order: below the mirror, then below the snapshot mirror; an absolute URL as it is. */
export function lockedUrls(url: string, mirror: string, snapshot: string | undefined): string[] {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return [url];
  return [`${mirror.replace(/\/+$/, '')}/${url}`, ...(snapshot ? [`${snapshot.replace(/\/+$/, '')}/${url}`] : [])];
}

/** A locked package as its plan's package, fetched from below `mirror` or the snapshot mirror; `extra` is the format's own facts. */
export function lockedPlanned<Extra>(p: LockedPackage, mirror: string, snapshot: string | undefined, extra: Extra): PlannedPackage<Extra> {
  const installedSize = p.facts['installed-size'];
  return {
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    size: p.size,
    ...(typeof installedSize === 'number' ? { installedSize } : {}),
    sha256: p.sha256,
    urls: lockedUrls(p.url, mirror, snapshot),
    reason: 'kiln.lock',
    extra,
  };
}

/** The primary keys' OpenPGP fingerprints (upper-case hex) of the keyrings, sorted, each once. */
export async function keyringFingerprints(paths: readonly string[]): Promise<string[]> {
  if (!paths.length) return [];
  const keys = await loadKeyring(paths);
  return [...new Set(keys.map((k) => k.getFingerprint().toUpperCase()))].sort();
}
