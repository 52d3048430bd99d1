/**
 * Where an Alpine build's trust comes from: distribution.keyring (key files
 * or directories of them; by default the host's /etc/apk/keys when it
 * exists), or, only with keyring-bootstrap = "trust-first-download", the
 * alpine-keys package of the first repository that has it, taken without a
 * signature check: its keys then check the indexes and every other package.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Config } from '../../config/index.ts';
import { readTar } from '../../archive/index.ts';
import { downloadToStore } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import type { PlanContext } from '../types.ts';
import { readApkIndex } from './apkindex.ts';
import { dataTar, readApkPackage, type ApkPackageFile } from './package.ts';
import type { ApkSource } from './sources.ts';
import { compareApkVersions } from './version.ts';
import { loadApkKeys, type PlanKey } from './trust.ts';

export type { PlanKey } from './trust.ts';

/** The keys distribution.keyring names (or `paths`, a third-party repository's). */
export function configuredKeys(config: Config, paths: readonly string[] = config['distribution.keyring']): PlanKey[] {
  return loadApkKeys(paths).map(({ name, pem }) => ({ name, pem }));
}

export interface BootstrappedKeys {
  keys: PlanKey[];
  packageName: string;
  version: string;
  url: string;
}

/** The keys of the keys package for `arch` (see keysInPackage), from the first repository that has it. */
export async function bootstrapKeys(ctx: PlanContext, indexes: { source: ApkSource; url: string; data: Buffer }[], packageName: string, arch: string): Promise<BootstrappedKeys> {
  for (const { source, url, data } of indexes) {
    const index = await readApkIndex(data, url, source.name, undefined);
    const candidates = index.packages.filter((p) => p.name === packageName).sort((a, b) => compareApkVersions(b.version, a.version));
    const p = candidates[0];
    if (!p) continue;
    const fileUrl = `${source.url}/${p.name}-${p.version}.apk`;
    const got = await downloadToStore(ctx.store, { urls: [fileUrl], name: `${p.name}-${p.version}.apk`, size: p.size }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal });
    const file = await readApkPackage(await readFile(got.path), { name: p.name, version: p.version, architecture: p.arch }, fileUrl, { checksum: p.checksum });
    return { keys: await keysInPackage(file, arch, fileUrl), packageName, version: p.version, url: fileUrl };
  }
  throw new UserError(`no repository has ${packageName}, which keyring-bootstrap = "trust-first-download" takes the keys from`, 'set distribution.keyring to the Alpine keys (*.rsa.pub): a directory or the files');
}

const KEYS_SHARE = 'usr/share/apk/keys';
const KEYS_ETC = 'etc/apk/keys';
/** Symlinks followed from one key path before giving up (a loop, or a chain no package makes). */
const MAX_LINKS = 8;

/**
 * The keys in a keys package's data tar, by name; `label` names the file. alpine-keys keeps every key once as
 * usr/share/apk/keys/NAME.rsa.pub, lists the ones of each architecture as usr/share/apk/keys/ARCH/NAME.rsa.pub
 * (symlinks to ../NAME.rsa.pub), and puts those of the architecture it was built for in etc/apk/keys (files in
 * older releases, symlinks into usr/share/apk/keys in newer ones). The keys of `arch` are those two lists; a key
 * elsewhere in usr/share/apk/keys (another architecture's) is not trusted. A link is followed inside the package
 * (relative to its directory, or from the package's root when absolute); one that leads to no key file in it
 * names no key.
 */
export async function keysInPackage(file: ApkPackageFile, arch: string, label: string): Promise<PlanKey[]> {
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  for await (const { entry, body } of readTar(dataTar(file, label))) {
    const path = posix.normalize(entry.path.replace(/^\.\//, ''));
    const under = path.startsWith(`${KEYS_SHARE}/`) || path.startsWith(`${KEYS_ETC}/`);
    if (!under || !path.endsWith('.rsa.pub')) continue;
    if (entry.type === 'file') files.set(path, await body.buffer());
    else if (entry.type === 'symlink' && entry.linkpath !== undefined) links.set(path, entry.linkpath);
    else if (entry.type === 'hardlink' && entry.linkpath !== undefined) links.set(path, `/${entry.linkpath.replace(/^\.\//, '')}`);
  }
  const resolve = (path: string): Buffer | undefined => {
    let at = path;
    for (let i = 0; i <= MAX_LINKS; i++) {
      const found = files.get(at);
      if (found) return found;
      const target = links.get(at);
      if (target === undefined) return undefined;
      at = posix.normalize(target.startsWith('/') ? target.slice(1) : posix.join(posix.dirname(at), target));
    }
    return undefined;
  };
  const keys = new Map<string, string>();
  for (const path of [...files.keys(), ...links.keys()].sort()) {
    const dir = posix.dirname(path);
    if (dir !== `${KEYS_SHARE}/${arch}` && dir !== KEYS_ETC) continue;
    const pem = resolve(path);
    if (pem) keys.set(posix.basename(path), pem.toString('utf8'));
  }
  if (!keys.size) throw new UserError(`${label} holds no keys for ${arch} (in ${KEYS_SHARE}/${arch}/ or ${KEYS_ETC}/)`, 'set distribution.keyring to the Alpine keys (*.rsa.pub) instead of keyring-bootstrap');
  return [...keys].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, pem]) => ({ name, pem }));
}

/** No trusted keys and no trust-first-download: the one line that says where none were found; `what` is the first file to check. */
export function noKeysError(config: Config, what: string): UserError {
  const named = config['distribution.keyring'];
  return new UserError(
    named.length ? `no trusted apk keys to check ${what}: no *.rsa.pub in ${named.join(', ')} (distribution.keyring)` : `no trusted apk keys to check ${what}: distribution.keyring is empty and this host has no /etc/apk/keys`,
    'set distribution.keyring to Alpine\'s *.rsa.pub keys (a directory or the files), or distribution.keyring-bootstrap = "trust-first-download" to take them unverified from alpine-keys',
  );
}

/** Who an apk key is: its file name (signatures name it so) and the SHA-256 of its DER public key (`openssl pkey -pubin -outform DER | sha256sum`). */
export function apkKeyFingerprint(key: PlanKey): string {
  const der = createPublicKey(key.pem).export({ type: 'spki', format: 'der' });
  return `${key.name} sha256:${createHash('sha256').update(der).digest('hex')}`;
}
