/**
 * OpenPGP signature checks with openpgp.js. They fail closed: at least one
 * signature must verify against the configured keys; signatures by keys not in
 * the keyring are ignored as long as one good signature exists.
 *
 * Keys are judged at the time of the signature (openpgp.js does this), so a
 * key that has expired since still verifies what it signed while it was valid.
 */
import { readFile } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { Key } from 'openpgp';
import { UserError } from '../util/errors.ts';

export type { Key } from 'openpgp';

const ARMOR_KEY_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;
const KEYRING_HINT = 'check the keyring setting of the distribution (a path to a .gpg or .asc file)';
type VerificationResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

const SIGNATURE_HINT = 'the mirror may be compromised or out of date, or the keyring may be missing the key that signs this release';

export interface VerifyOptions {
  /** Names the signed thing in errors, e.g. the InRelease URL. */
  source?: string;
  /** The time at which signatures must be valid (default: now). */
  date?: Date;
}

/**
 * Reads public keys from binary keyrings (`.gpg`: concatenated binary keys, as
 * in /usr/share/keyrings) and armored files (`.asc`, one or more key blocks).
 */
export async function loadKeyring(paths: readonly string[]): Promise<Key[]> {
  const keys: Key[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw new UserError(`cannot read keyring ${path}: ${reason}`, KEYRING_HINT, { cause: err });
    }
    let found: Key[];
    try {
      found = await parseKeys(bytes);
    } catch (err) {
      throw new UserError(`cannot read keyring ${path}: ${(err as Error).message}`, KEYRING_HINT, { cause: err });
    }
    if (found.length === 0) throw new UserError(`keyring ${path} contains no keys`, KEYRING_HINT);
    keys.push(...found);
  }
  return keys;
}

/** Keys from a binary keyring or armored key blocks, whichever `bytes` holds. */
export async function parseKeys(bytes: Buffer): Promise<Key[]> {
  // Every binary OpenPGP packet starts with a tag byte that has the high bit set.
  if (bytes.length > 0 && ((bytes[0] ?? 0) & 0x80) !== 0) return openpgp.readKeys({ binaryKeys: bytes });
  const blocks = bytes.toString('utf8').match(ARMOR_KEY_BLOCK);
  if (!blocks) throw new Error('neither a binary keyring nor an armored public key block');
  const keys: Key[] = [];
  for (const block of blocks) keys.push(...(await openpgp.readKeys({ armoredKeys: block })));
  return keys;
}

/** Checks a clearsigned message (a Debian InRelease file) and returns the signed text, which is what must be parsed. */
export async function verifyClearsigned(text: string, keys: readonly Key[], opts: VerifyOptions = {}): Promise<string> {
  const source = opts.source ?? 'a clearsigned message';
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (err) {
    throw new UserError(`signature check failed for ${source}: not an OpenPGP clearsigned message (${(err as Error).message})`, SIGNATURE_HINT, { cause: err });
  }
  const result = await openpgp.verify({ message, verificationKeys: [...keys], date: opts.date });
  await requireGoodSignature(result.signatures, keys, source);
  return result.data;
}

/** Checks a detached signature (binary or armored, e.g. a pacman `.sig` or Debian `Release.gpg`) over `data`. */
export async function verifyDetached(data: Uint8Array, signature: Uint8Array, keys: readonly Key[], opts: VerifyOptions = {}): Promise<void> {
  const source = opts.source ?? 'a detached signature';
  let parsed: openpgp.Signature;
  try {
    const head = Buffer.from(signature.subarray(0, 64)).toString('latin1').trimStart();
    parsed = head.startsWith('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: Buffer.from(signature).toString('utf8') })
      : await openpgp.readSignature({ binarySignature: signature });
  } catch (err) {
    throw new UserError(`signature check failed for ${source}: not an OpenPGP signature (${(err as Error).message})`, SIGNATURE_HINT, { cause: err });
  }
  const message = await openpgp.createMessage({ binary: data });
  const result = await openpgp.verify({ message, signature: parsed, verificationKeys: [...keys], date: opts.date, format: 'binary' });
  await requireGoodSignature(result.signatures, keys, source);
}

async function requireGoodSignature(signatures: VerificationResult[], keys: readonly Key[], source: string): Promise<void> {
  const outcomes = await Promise.allSettled(signatures.map((s) => s.verified));
  if (outcomes.some((o) => o.status === 'fulfilled')) return;
  const reasons = outcomes.map((o, i) => {
    const keyID = signatures[i]?.keyID.toHex().toUpperCase() ?? '?';
    const known = keys.some((k) => k.getKeys(signatures[i]?.keyID).length > 0);
    const why = !known ? 'key not in keyring' : o.status === 'rejected' ? errorMessage(o.reason) : 'unknown';
    return `${keyID}: ${why}`;
  });
  const detail = reasons.length > 0 ? reasons.join('; ') : 'the file has no signatures';
  throw new UserError(`signature check failed for ${source}: no valid signature from the configured keyring (${detail})`, SIGNATURE_HINT);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
