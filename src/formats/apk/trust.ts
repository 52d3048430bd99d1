/**
 * apk's trust: RSA public keys (PEM `*.rsa.pub` files, named as the
 * signature files name them), and the signature stream's `.SIGN.RSA.<key>`
 * (SHA1) or `.SIGN.RSA256.<key>` (SHA256) over the next stream's compressed
 * bytes. One good signature by a trusted key is enough, as apk takes it; a
 * signature by a trusted key that does not verify refuses the file. Every
 * refusal is one line naming the file.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserError } from '../../util/errors.ts';
import type { SmallMember } from './streams.ts';

export interface TrustedKey {
  /** The key file's name (`alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub`), as signatures name it. */
  name: string;
  /** The PEM text, as /etc/apk/keys keeps it. */
  pem: string;
  key: KeyObject;
}

/** The keys in `paths`: files, or directories of `*.rsa.pub` (others in them are skipped, as apk does). */
export function loadApkKeys(paths: readonly string[]): TrustedKey[] {
  const files: string[] = [];
  for (const path of paths) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) throw new UserError(`apk key ${path} does not exist`, 'distribution.keyring names *.rsa.pub files or directories of them');
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) (name.endsWith('.pub') ? files : []).push(join(path, name));
    else files.push(path);
  }
  return files.map((file) => {
    const pem = readFileSync(file, 'utf8');
    try {
      return { name: basename(file), pem, key: createPublicKey(pem) };
    } catch (err) {
      throw new UserError(`${file} is not an RSA public key (${(err as Error).message})`, 'distribution.keyring names PEM *.rsa.pub files, as /etc/apk/keys holds them', { cause: err });
    }
  });
}

const SIGNATURE = /^\.SIGN\.(RSA|RSA256|RSA512)\.(.+)$/;
const DIGEST: Record<string, string> = { RSA: 'sha1', RSA256: 'sha256', RSA512: 'sha512' };

/** The signature members of a signature stream; none when the stream holds none (an unsigned file). */
export function signaturesIn(members: SmallMember[]): { algorithm: string; keyName: string; signature: Buffer }[] {
  return members.flatMap(({ entry, content }) => {
    const m = SIGNATURE.exec(entry.path);
    return m ? [{ algorithm: m[1] as string, keyName: m[2] as string, signature: content }] : [];
  });
}

/**
 * Checks that `signed` (a stream's compressed bytes) carries a good signature by one of `keys`;
 * `file` names the file in the message. Returns the key that signed it.
 */
export function checkApkSignature(file: string, members: SmallMember[], signed: Buffer, keys: readonly TrustedKey[]): TrustedKey {
  const signatures = signaturesIn(members);
  if (signatures.length === 0) throw new UserError(`${file} is not signed`, 'apk packages and indexes must carry a .SIGN.RSA signature: the mirror is broken or the file was replaced');
  for (const s of signatures) {
    const key = keys.find((k) => k.name === s.keyName);
    if (!key) continue;
    let good = false;
    try {
      good = verify(DIGEST[s.algorithm] as string, signed, key.key, s.signature);
    } catch {
      good = false;
    }
    if (!good) throw new UserError(`${file}: bad signature by ${s.keyName}`, 'the file was changed after it was signed: the mirror is broken or has been tampered with');
    return key;
  }
  throw new UserError(`${file} is signed by an unknown key (${signatures.map((s) => s.keyName).join(', ')})`, 'add the key (*.rsa.pub) to distribution.keyring, or check that the mirror is the one you meant');
}

/** A trusted key as a plan carries it (JSON): its file name and PEM text. */
export interface PlanKey {
  name: string;
  pem: string;
}

/** The plan's keys, ready to verify with. */
export function keysFromPlan(keys: readonly PlanKey[]): TrustedKey[] {
  return keys.map((k) => ({ ...k, key: createPublicKey(k.pem) }));
}
