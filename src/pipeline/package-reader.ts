/** How the stages read package files: through the download store, each file checked against the plan's sha256. */
import type { PlannedPackage, ReadPackage } from '../formats/types.ts';
import { readVerified, type BlobStore, type VerifiedItem } from '../repo/index.ts';
import type { Emit } from '../util/events.ts';

export function downloadItem(p: PlannedPackage): VerifiedItem {
  return { urls: p.urls, sha256: p.sha256, size: p.size, name: p.name };
}

export function packageReader(store: BlobStore, emit: Emit, signal?: AbortSignal): ReadPackage {
  return (p) => readVerified(store, downloadItem(p), { emit, signal });
}
