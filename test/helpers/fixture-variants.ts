/**
 * Tampered copies of a fixture repository, the same three for every format:
 *
 * tampered: bytes changed, index untouched (checksum and signature fail; the size is kept when it can be).
 * bad-signature: bytes changed, index re-made around the old signature (only the signature fails).
 * unknown-key: bytes changed, signed by the unknown key, index re-made (only the keyring catches it).
 *
 * The changed package is a valid package that also ships /etc/kiln-tampered.
 * A format's helper repacks, re-signs and re-indexes; this file says where
 * the copy goes and what the change is.
 */
import { cp, rm } from 'node:fs/promises';
import type { FixtureEntry } from './fixture-tree.ts';

export type FixtureVariantKind = 'tampered' | 'bad-signature' | 'unknown-key';

/** The path every changed package adds. */
export const TAMPER_PATH = 'etc/kiln-tampered';

export function tamperEntry(name: string, kind: FixtureVariantKind): FixtureEntry {
  return { text: `${name} was changed after it was signed (${kind})\n` };
}

/** A fresh copy of the repository at `root`, as ROOT-KIND (ROOT-KIND-NAME unless the package is `defaultName`); returns its path. */
export async function copyForVariant(root: string, kind: FixtureVariantKind, name: string, defaultName: string): Promise<string> {
  const copy = `${root}-${kind}${name === defaultName ? '' : `-${name}`}`;
  await rm(copy, { recursive: true, force: true });
  await cp(root, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}
