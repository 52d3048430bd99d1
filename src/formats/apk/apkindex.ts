/**
 * A repository's APKINDEX.tar.gz: a signature stream, then the index stream
 * (a tar with APKINDEX and DESCRIPTION). The index is a list of records
 * separated by empty lines, one `X:value` field a line (C checksum, P name,
 * V version, A arch, S size, I installed size, T description, U url,
 * L license, o origin, m maintainer, t build time, c commit, k provider
 * priority, D depends, p provides, i install_if).
 */
import { UserError } from '../../util/errors.ts';
import { readSlice, splitGzipStreams, StreamError, type GzipStream } from './streams.ts';
import { checkApkSignature, type TrustedKey } from './trust.ts';
import type { ApkPackage } from './types.ts';

export interface ApkIndex {
  packages: ApkPackage[];
  description?: string;
  /** The key that signed it; undefined when checks are off. */
  signedBy?: string;
}

function streamsOf(file: Buffer, url: string): GzipStream[] {
  try {
    return splitGzipStreams(file);
  } catch (err) {
    if (err instanceof StreamError) throw new UserError(`${url}: not an apk index (${err.message})`, 'the mirror is broken, or not an Alpine mirror');
    throw err;
  }
}

/** Reads and (with `keys`) verifies an APKINDEX.tar.gz; `repo` names the repository its records belong to. */
export async function readApkIndex(file: Buffer, url: string, repo: string, keys: readonly TrustedKey[] | undefined): Promise<ApkIndex> {
  const streams = streamsOf(file, url);
  const signatureMembers = streams.length > 1 ? await readSlice((streams[0] as GzipStream).data) : [];
  const signed = streams.length > 1;
  const index = streams[streams.length - 1] as GzipStream;
  let signedBy: string | undefined;
  if (keys) {
    if (!signed) throw new UserError(`${url} is not signed`, 'an Alpine index carries a .SIGN.RSA signature stream first: the mirror is broken or the file was replaced');
    signedBy = checkApkSignature(url, signatureMembers, index.raw, keys).name;
  }
  const members = await readSlice(index.data).catch((err: Error) => {
    throw new UserError(`${url}: not an apk index (${err.message})`, 'the mirror is broken, or not an Alpine mirror');
  });
  const text = members.find((m) => m.entry.path === 'APKINDEX')?.content.toString('utf8');
  if (text === undefined) throw new UserError(`${url}: no APKINDEX in the index`, 'the mirror is broken, or not an Alpine mirror');
  const description = members.find((m) => m.entry.path === 'DESCRIPTION')?.content.toString('utf8').trim();
  return { packages: parseApkIndexText(text, repo, url), ...(description ? { description } : {}), ...(signedBy ? { signedBy } : {}) };
}

/** The records of an APKINDEX text (or of an installed database: the fields apk adds there are left to the caller). */
export function parseRecords(text: string): Map<string, string[]>[] {
  const records: Map<string, string[]>[] = [];
  let current: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line === '') {
      current = undefined;
      continue;
    }
    if (line[1] !== ':') continue;
    if (!current) records.push((current = new Map()));
    const key = line[0] as string;
    (current.get(key) ?? current.set(key, []).get(key))?.push(line.slice(2));
  }
  return records;
}

export function packageFromRecord(r: Map<string, string[]>, repo: string): ApkPackage | undefined {
  const one = (k: string) => r.get(k)?.[0];
  const name = one('P');
  const version = one('V');
  const checksum = one('C');
  if (!name || !version || !checksum) return undefined;
  const num = (k: string) => {
    const n = Number(one(k));
    return Number.isFinite(n) ? n : undefined;
  };
  const words = (k: string) => (one(k) ?? '').split(' ').filter(Boolean);
  const priority = num('k');
  return {
    repo,
    checksum,
    name,
    version,
    arch: one('A') ?? 'noarch',
    size: num('S') ?? 0,
    installedSize: num('I') ?? 0,
    description: one('T') ?? '',
    url: one('U') ?? '',
    license: one('L') ?? '',
    ...(one('o') ? { origin: one('o') } : {}),
    ...(one('m') ? { maintainer: one('m') } : {}),
    ...(num('t') !== undefined ? { buildTime: num('t') } : {}),
    ...(one('c') ? { commit: one('c') } : {}),
    ...(priority !== undefined ? { providerPriority: priority } : {}),
    depends: words('D'),
    provides: words('p'),
    installIf: words('i'),
  };
}

export function parseApkIndexText(text: string, repo: string, url = 'APKINDEX'): ApkPackage[] {
  return parseRecords(text).map((r, i) => {
    const p = packageFromRecord(r, repo);
    if (!p) throw new UserError(`${url}: record ${i + 1} has no P:, V: or C: field`, 'the mirror is broken, or not an Alpine mirror');
    return p;
  });
}
