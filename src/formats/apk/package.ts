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
import { readSlice, splitGzipStreams, StreamError, type GzipStream, type SmallMember } from './streams.ts';
import { checkApkSignature, type TrustedKey } from './trust.ts';

/** The scripts a control stream may hold, as apk names them. */
export const SCRIPT_NAMES = ['pre-install', 'post-install', 'pre-deinstall', 'post-deinstall', 'pre-upgrade', 'post-upgrade', 'trigger'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

export interface ApkPackageFile {
  /** .PKGINFO as key -> values, in file order. */
  pkginfo: Map<string, string[]>;
  scripts: Partial<Record<ScriptName, Buffer>>;
  /** The data stream's tar (decompressed), with its end blocks. */
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

/** Takes `file` (the whole .apk of `planned`) apart and checks it; `label` names it in messages. */
export async function readApkPackage(file: Buffer, planned: Pick<PlannedPackage, 'name' | 'version' | 'architecture'>, label: string, opts: ReadApkOptions): Promise<ApkPackageFile> {
  let streams: GzipStream[];
  try {
    streams = splitGzipStreams(file);
  } catch (err) {
    if (err instanceof StreamError) throw new UserError(`${label}: not an apk package (${err.message})`, BROKEN);
    throw err;
  }
  if (streams.length < 2 || streams.length > 3) throw new UserError(`${label}: not an apk package (${streams.length} gzip streams, not signature, control and data)`, BROKEN);
  const [signature, control, data] = (streams.length === 3 ? streams : [undefined, ...streams]) as [GzipStream | undefined, GzipStream, GzipStream];
  const checksum = q1(control.raw);
  if (opts.checksum !== undefined && checksum !== opts.checksum) throw new UserError(`${label}: checksum ${checksum} is not the index's ${opts.checksum}`, BROKEN);
  if (opts.keys) {
    if (!signature) throw new UserError(`${label} is not signed`, 'Alpine packages carry a .SIGN.RSA signature stream first: ' + BROKEN);
    checkApkSignature(label, await members(signature, label), control.raw, opts.keys);
  }
  const controlMembers = await members(control, label);
  if (controlMembers[0]?.entry.path !== '.PKGINFO') throw new UserError(`${label}: .PKGINFO does not come first in the control stream`, BROKEN);
  const pkginfo = parsePkginfo(controlMembers[0].content);
  const one = (key: string) => pkginfo.get(key)?.[0];
  checkPackageIdentity(planned, { name: one('pkgname'), version: one('pkgver'), architecture: one('arch') }, { name: 'pkgname', version: 'pkgver', architecture: 'arch' });
  const datahash = one('datahash');
  const actual = createHash('sha256').update(data.raw).digest('hex');
  if (datahash === undefined) throw new UserError(`${label}: .PKGINFO has no datahash`, BROKEN);
  if (datahash.toLowerCase() !== actual) throw new UserError(`${label}: data does not match its datahash (sha256 ${actual}, .PKGINFO says ${datahash})`, BROKEN);
  const scripts: ApkPackageFile['scripts'] = {};
  for (const { entry, content } of controlMembers.slice(1)) {
    const name = entry.path.startsWith('.') ? entry.path.slice(1) : '';
    if ((SCRIPT_NAMES as readonly string[]).includes(name)) scripts[name as ScriptName] = content;
  }
  return { pkginfo, scripts, data: data.data, checksum };
}

async function members(stream: GzipStream, label: string): Promise<SmallMember[]> {
  try {
    return await readSlice(stream.data);
  } catch (err) {
    throw new UserError(`${label}: not an apk package (${(err as Error).message})`, BROKEN);
  }
}
