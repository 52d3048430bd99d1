/**
 * Throwaway OpenPGP keys for fixture repositories: the public half armored
 * and binary (for gpgv --keyring), the secret half kept beside them so that
 * a variant can be signed later, and detached binary signatures.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';

export interface FixtureKey {
  secret: openpgp.PrivateKey;
  armored: string;
  /** 40 upper-case hex digits. */
  fingerprint: string;
}

/** Writes dir/NAME.asc, dir/NAME.gpg and dir/NAME.secret.asc. */
export async function makeKey(dir: string, name: string, label: string): Promise<FixtureKey> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: label, email: `${name}@kiln.invalid` }], format: 'object' });
  await writeFile(join(dir, `${name}.asc`), publicKey.armor());
  await writeFile(join(dir, `${name}.gpg`), publicKey.write());
  await writeFile(join(dir, `${name}.secret.asc`), privateKey.armor(), { mode: 0o600 });
  return { secret: privateKey, armored: publicKey.armor(), fingerprint: publicKey.getFingerprint().toUpperCase() };
}

/** The secret key makeKey wrote to dir/NAME.secret.asc. */
export async function readSecretKey(dir: string, name: string): Promise<openpgp.PrivateKey> {
  return openpgp.readPrivateKey({ armoredKey: await readFile(join(dir, `${name}.secret.asc`), 'utf8') });
}

/** Writes FILE.sig: a detached binary signature of `file`. */
export async function signDetached(file: string, key: openpgp.PrivateKey): Promise<void> {
  const message = await openpgp.createMessage({ binary: await readFile(file) });
  await writeFile(`${file}.sig`, await openpgp.sign({ message, signingKeys: key, detached: true, format: 'binary' }));
}
