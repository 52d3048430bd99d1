/** How the stages read package files: through the download store, each file checked against the plan's sha256. */
import type { PlannedPackage, ReadPackage } from '../formats/types.ts';
import type { Config } from '../config/index.ts';
import { readVerified, type BlobStore, type DownloadLimits, type VerifiedItem } from '../repo/index.ts';
import type { Emit } from '../util/events.ts';

export function downloadItem(p: PlannedPackage): VerifiedItem {
  return { urls: p.urls, sha256: p.sha256, size: p.size, name: p.name };
}

/** The plain download limits of the build.download-* settings (src/repo reads no config). */
export function downloadLimits(config: Config): DownloadLimits {
  return {
    minBytesPerSecond: config['build.download-min-rate'],
    rateWindowMs: config['build.download-min-rate-window'] * 1000,
    timeoutMs: config['build.download-timeout'] * 1000,
  };
}

/** Reads a planned package through the store; a cached copy that fails its sha256 is downloaded again, within `limits`. */
export function packageReader(store: BlobStore, emit: Emit, limits: DownloadLimits, signal?: AbortSignal): ReadPackage {
  return (p) => readVerified(store, downloadItem(p), { ...limits, emit, signal });
}
