/**
 * Trust anchors and signature verdicts. A package format checks each
 * signature against a set of trust anchors (OpenPGP keyrings for deb and
 * pacman; apk will add RSA public keys behind the same interface), and the
 * verdict is kept between builds under a key that covers the signed bytes,
 * the signature and the anchors' identity, so that a changed keyring (a key
 * revoked or added) judges every signature again.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { memoized, memoKey } from './memo.ts';
import { verifyDetached, type Key } from './openpgp.ts';

export interface TrustAnchors {
  /** Changes whenever the trusted keys (or the list of revoked ones) change. */
  id: string;
  /** Fails (a UserError) unless `signature` is a good detached signature over `data` by one of the anchors; `source` names the signed thing. */
  verifyDetached(data: Uint8Array, signature: Uint8Array, source: string): Promise<void>;
}

/** OpenPGP keys as trust anchors; `keys` is called only when a signature must really be checked (a large keyring takes a while to parse). */
export interface OpenPgpAnchors extends TrustAnchors {
  keys(): Promise<Key[]>;
}

export function openPgpAnchors(id: string, load: () => Promise<Key[]>): OpenPgpAnchors {
  let keys: Promise<Key[]> | undefined;
  const loaded = () => (keys ??= load());
  return {
    id,
    keys: loaded,
    verifyDetached: async (data, signature, source) => verifyDetached(data, signature, await loaded(), { source }),
  };
}

export interface SignedItem {
  /** What is being checked, in the memo key (e.g. `pacman-signature`): verdicts of different kinds never mix. */
  kind: string;
  /** sha256 of the signed bytes, as the signed index gives it. */
  sha256: string;
  signature: Uint8Array;
  /** The signed bytes, read only when no verdict is kept. */
  read(): Promise<Uint8Array>;
  source: string;
}

/** Checks `item`'s signature against `anchors`, or reuses a good verdict from an earlier build (memoDir/signatures). */
export async function checkSignature(memoDir: string, anchors: TrustAnchors, item: SignedItem): Promise<void> {
  const key = memoKey(item.kind, item.sha256, createHash('sha256').update(item.signature).digest('hex'), anchors.id);
  await memoized(join(memoDir, 'signatures'), key, async () => {
    await anchors.verifyDetached(await item.read(), item.signature, item.source);
    return true;
  });
}
