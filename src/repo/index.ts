/** Downloads into the content-addressed cache, and signature checks (trust anchors, memoized verdicts). */
export { BlobStore, TempBlob, normalizeSha256 } from './cache.ts';
export { downloadAll, downloadToStore, fetchBytes, fetchIfChanged } from './http.ts';
export type { DownloadItem, DownloadLimits, DownloadResult, Fetched, HttpOptions, Validators } from './http.ts';
export { loadKeyring, parseKeys, verifyClearsigned, verifyDetached } from './openpgp.ts';
export type { Key, VerifyOptions } from './openpgp.ts';
export { readVerified, type VerifiedItem } from './verified-read.ts';
export { memoized, memoKey, writeJsonAtomic } from './memo.ts';
export { fetchMutableIndex, type MutableIndexContext, type MutableIndexRequest } from './mutable-index.ts';
export { checkSignature, openPgpAnchors, type OpenPgpAnchors, type SignedItem, type TrustAnchors } from './trust.ts';
