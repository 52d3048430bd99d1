/**
 * One .apk package, taken apart and checked as apk checks it before any
 * file is written: the control stream's `Q1` + base64 SHA1 must be the
 * index's C: (the index vouches for exactly this package), its signature
 * must be good by a trusted key, .PKGINFO must name the package the index
 * names, and the data stream's SHA256 must be .PKGINFO's datahash. Each
 * refusal is one line that names the file.
 */
import { parsePkginfo } from '../pkginfo.ts';
import { createHash } from 'node:crypto';
import { UserError } from '../../util/errors.ts';
import { checkPackageIdentity } from '../package-identity.ts';
import type { PlannedPackage } from '../types.ts';
import { gzipStreamAt, inflateData, readSlice, StreamError, type GzipStream, type SmallMember } from './streams.ts';
import { checkApkSignature, type TrustedKey } from './trust.ts';

/** The scripts a control stream may hold, as apk names them. */
export const SCRIPT_NAMES = ['pre-install', 'post-install', 'pre-deinstall', 'post-deinstall', 'pre-upgrade', 'post-upgrade', 'trigger'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface ApkPackageFile {
  /** .PKGINFO as key -> values, in file order. */
  pkginfo: Map<string, string[]>;
  scripts: Partial<Record<ScriptName, Buffer>>;
  /** The data stream, still compressed and already checked against the datahash: inflate it with dataTar() while unpacking. */
  data: Buffer;
  /** `Q1` + base64 SHA1 of the control stream: the package's checksum. */
  checksum: string;
}

export const BROKEN = 'the mirror is broken or has been tampered with';

/** `Q1` + base64 SHA1, apk's checksum notation. */
export function q1(data: Buffer): string {
  return `Q1${createHash('sha1').update(data).digest('base64')}`;
}

export interface ReadApkOptions {
  /** Trusted keys; undefined when signature checks are off (verify-signatures = false, or the trust-first-download keys package). */
  keys?: readonly TrustedKey[];
  /** The checksum the index gives (C:); undefined only for a package not from an index. */
  checksum?: string;
}

/**
 * Takes `file` (the whole .apk of `planned`) apart and checks it; `label`
 * names it in messages. Only the small signature and control streams are
 * inflated here: the data stream is checked by the SHA256 of its compressed
 * bytes (the datahash), so every byte of the package is vouched for before
 * one is unpacked, and it is inflated once, while it is unpacked (dataTar).
 */
export async function readApkPackage(file: Buffer, planned: Pick<PlannedPackage, 'name' | 'version' | 'architecture'>, label: string, opts: ReadApkOptions): Promise<ApkPackageFile> {
  const notApk = (err: unknown) => (err instanceof StreamError ? new UserError(`${label}: not an apk package (${err.message})`, BROKEN) : err);
  let signature: SmallMember[] | undefined;
  let control: GzipStream;
  let controlStart = 0;
  try {
    const first = gzipStreamAt(file, 0);
    const firstMembers = await members(first, label);
    // A signed package's first stream holds only its .SIGN.* files; an unsigned one starts with the control stream.
    signature = firstMembers[0]?.entry.path.startsWith('.SIGN.') ? firstMembers : undefined;
    if (signature) controlStart = first.raw.length;
    control = signature ? gzipStreamAt(file, controlStart) : first;
  } catch (err) {
    throw notApk(err);
  }
  const data = file.subarray(controlStart + control.raw.length);
  const checksum = q1(control.raw);
  if (opts.checksum !== undefined && checksum !== opts.checksum) throw new UserError(`${label}: checksum ${checksum} is not the index's ${opts.checksum}`, BROKEN);
  if (opts.keys) {
    if (!signature) throw new UserError(`${label} is not signed`, 'Alpine packages carry a .SIGN.RSA signature stream first: ' + BROKEN);
    checkApkSignature(label, signature, control.raw, opts.keys);
  }
  if (data.length === 0) throw new UserError(`${label}: not an apk package (no data stream after the control stream)`, BROKEN);
  const controlMembers = await members(control, label);
  if (controlMembers[0]?.entry.path !== '.PKGINFO') throw new UserError(`${label}: .PKGINFO does not come first in the control stream`, BROKEN);
  const pkginfo = parsePkginfo(controlMembers[0].content);
  const one = (key: string) => pkginfo.get(key)?.[0];
  checkPackageIdentity(planned, { name: one('pkgname'), version: one('pkgver'), architecture: one('arch') }, { name: 'pkgname', version: 'pkgver', architecture: 'arch' });
  const datahash = one('datahash');
  const actual = createHash('sha256').update(data).digest('hex');
  if (datahash === undefined) throw new UserError(`${label}: .PKGINFO has no datahash`, BROKEN);
  if (datahash.toLowerCase() !== actual) throw new UserError(`${label}: data does not match its datahash (sha256 ${actual}, .PKGINFO says ${datahash})`, BROKEN);
  const scripts: ApkPackageFile['scripts'] = {};
  for (const { entry, content } of controlMembers.slice(1)) {
    const name = entry.path.startsWith('.') ? entry.path.slice(1) : '';
    if ((SCRIPT_NAMES as readonly string[]).includes(name)) scripts[name as ScriptName] = content;
  }
  return { pkginfo, scripts, data, checksum };
}

/** The data stream's tar, inflated as it is read; a damaged stream is one line naming the file. */
export async function* dataTar(pkg: ApkPackageFile, label: string): AsyncGenerator<Buffer> {
  try {
    yield* inflateData(pkg.data);
  } catch (err) {
    if (err instanceof StreamError) throw new UserError(`${label}: not an apk package (${err.message})`, BROKEN);
    throw err;
  }
}

async function members(stream: GzipStream, label: string): Promise<SmallMember[]> {
  try {
    return await readSlice(stream.data);
  } catch (err) {
    throw new UserError(`${label}: not an apk package (${(err as Error).message})`, BROKEN);
  }
}
