/**
 * One Alpine v2 package and one APKINDEX.tar.gz, as abuild and `apk index`
 * make them (see apk-fixture-tar.ts for the sources):
 *
 * package = signature member + control member + data member, where
 *   data    = tar of the tree, a pax header before every entry (atime=0,
 *             ctime=0 as tar --format=posix --pax-option=...,atime:=0,ctime:=0
 *             writes, plus APK-TOOLS.checksum.SHA1 for files and symlinks as
 *             abuild-tar --hash adds), end-of-archive blocks, gzip -9;
 *   control = tar of .PKGINFO then the scripts, cut (abuild-tar --cut), gzip -9;
 *             .PKGINFO ends with datahash = hex SHA256 of the data member;
 *   signature = .SIGN.RSA[256].KEY over the control member (abuild-sign).
 * index = signature member + gzip(tar DESCRIPTION, APKINDEX, end blocks);
 *   APKINDEX records C: P: V: A: S: I: T: U: L: o: m: t: c: k: D: p: i:
 *   in that order (apk-tools' index writer), a blank line after each, and
 *   C: = Q1 + base64 SHA1 of the control member.
 */
import type { KeyObject } from 'node:crypto';
import { endOfArchive, gzipMember, padBlock, paxBlock, q1, sha1, sha256Hex, signatureMember, tarHeader, type SignatureKind } from './apk-fixture-tar.ts';

export type ApkMachine = 'x86_64' | 'aarch64';
export type ApkScript = 'pre-install' | 'post-install' | 'trigger';
/** Script order in the control member (abuild's). */
export const SCRIPT_ORDER: readonly ApkScript[] = ['pre-install', 'post-install', 'trigger'];

export const PACKAGER = 'kiln tests <packager@kiln.invalid>';
export const MAINTAINER = 'kiln tests <maintainer@kiln.invalid>';

/** One path of a package's data: no leading or trailing '/'. */
export type ApkEntry =
  | { path: string; type: 'file'; data: Buffer; mode: number; uid?: number; gid?: number; uname?: string; gname?: string }
  | { path: string; type: 'symlink'; target: string }
  | { path: string; type: 'dir'; mode?: number; uid?: number; gid?: number };

export interface ApkSpec {
  name: string;
  /** pkgver-rN */
  version: string;
  arch: ApkMachine | 'noarch';
  desc: string;
  url?: string;
  license?: string;
  origin?: string;
  depends?: string[];
  provides?: string[];
  installIf?: string[];
  providerPriority?: number;
  replaces?: string[];
  triggers?: string[];
  scripts?: Partial<Record<ApkScript, string>>;
  entries: ApkEntry[];
  /** Default RSA (SHA1); 'none' writes no signature member. */
  signature?: SignatureKind | 'none';
  /** Test hook: a datahash other than the data member's (the bad-datahash variant). */
  wrongDatahash?: boolean;
  /** Test hook: this file's bytes changed after its APK-TOOLS.checksum.SHA1 was taken; the datahash is of the changed data (the bad-pax-checksum variant). */
  tamperedFile?: string;
}

/** What a package carries, for the tests to compare kiln's output with. */
export interface ApkFile {
  /** No leading '/'. */
  path: string;
  type: 'file' | 'symlink' | 'dir';
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Hex SHA1 of a file's bytes or of a symlink's target (the pax APK-TOOLS.checksum.SHA1). */
  sha1?: string;
  target?: string;
  size: number;
}

export interface ApkBuilt {
  name: string;
  version: string;
  arch: ApkMachine | 'noarch';
  filename: string;
  /** Bytes of the .apk (S:). */
  size: number;
  /** .PKGINFO size (I:). */
  installedSize: number;
  /** Q1 + base64 SHA1 of the control member (C:). */
  checksum: string;
  /** Hex SHA256 of the data member. */
  datahash: string;
  sha256: string;
  builddate: number;
  /** c: (a fixed fake aports commit). */
  commit: string;
  desc: string;
  url: string;
  license: string;
  origin: string;
  depends: string[];
  provides: string[];
  installIf: string[];
  providerPriority?: number;
  replaces: string[];
  triggers: string[];
  scripts: ApkScript[];
  signature: SignatureKind | 'none';
  files: ApkFile[];
  /** Byte offsets of the gzip members in the .apk (signature, control, data; or control, data). */
  members: number[];
}

export interface ApkSigner {
  /** The key's file name in /etc/apk/keys: NAME.rsa.pub */
  name: string;
  secret: KeyObject;
}

/** Parents first, siblings in byte order; missing parent directories added (0755 root). */
function treeOrder(entries: readonly ApkEntry[]): ApkEntry[] {
  const byPath = new Map<string, ApkEntry>();
  for (const e of entries) {
    if (byPath.has(e.path)) throw new Error(`${e.path} twice in a fixture package`);
    byPath.set(e.path, e);
  }
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, type: 'dir' });
    }
  }
  const key = (p: string) => p.split('/');
  return [...byPath.values()].sort((a, b) => {
    const x = key(a.path);
    const y = key(b.path);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i] as string), Buffer.from(y[i] as string));
    return x.length - y.length;
  });
}

/** abuild-tar's legacy checksum in a regular file's linkname: 3 NULs, "APK2", nid and size (u16 little-endian), digest. */
function legacyChecksum(digest: Buffer): Buffer {
  const buf = Buffer.alloc(100);
  buf.write('APK2', 3, 'ascii');
  buf.writeUInt16LE(64, 7); // NID_sha1
  buf.writeUInt16LE(digest.length, 9);
  digest.copy(buf, 11);
  return buf;
}

function dataMember(entries: readonly ApkEntry[], mtime: number, tamperedFile?: string): { member: Buffer; files: ApkFile[] } {
  const parts: Buffer[] = [];
  const files: ApkFile[] = [];
  const times: [string, string][] = [['atime', '0'], ['ctime', '0']];
  for (const e of treeOrder(entries)) {
    if (e.type === 'dir') {
      const mode = e.mode ?? 0o755;
      parts.push(paxBlock(`${e.path}/`, times, mtime), tarHeader({ name: `${e.path}/`, type: '5', mode, uid: e.uid, gid: e.gid, mtime }));
      files.push({ path: e.path, type: 'dir', mode, uid: e.uid ?? 0, gid: e.gid ?? 0, size: 0 });
    } else if (e.type === 'symlink') {
      const digest = sha1(e.target);
      parts.push(paxBlock(e.path, [...times, ['APK-TOOLS.checksum.SHA1', digest.toString('hex')]], mtime));
      parts.push(tarHeader({ name: e.path, type: '2', mode: 0o777, linkname: e.target, mtime }));
      files.push({ path: e.path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, sha1: digest.toString('hex'), target: e.target, size: 0 });
    } else {
      const digest = sha1(e.data);
      parts.push(paxBlock(e.path, [...times, ['APK-TOOLS.checksum.SHA1', digest.toString('hex')]], mtime));
      const data = e.path === tamperedFile ? Buffer.concat([e.data, Buffer.from('# tampered after signing\n')]) : e.data;
      const header = { name: e.path, type: '0', mode: e.mode, uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname, size: data.length, mtime, linkBytes: legacyChecksum(digest) } as const;
      parts.push(tarHeader(header), padBlock(data));
      files.push({ path: e.path, type: 'file', mode: e.mode & 0o7777, uid: e.uid ?? 0, gid: e.gid ?? 0, sha1: digest.toString('hex'), size: e.data.length });
    }
  }
  const body = Buffer.concat(parts);
  return { member: gzipMember(Buffer.concat([body, endOfArchive(body.length)])), files };
}

/** .PKGINFO in abuild's key order. */
export function pkginfo(spec: ApkSpec, o: { builddate: number; size: number; commit: string; datahash: string }): string {
  const lines = [
    '# Generated by kiln test fixture (abuild layout)',
    `pkgname = ${spec.name}`,
    `pkgver = ${spec.version}`,
    `pkgdesc = ${spec.desc}`,
    `url = ${spec.url ?? 'https://kiln.invalid/'}`,
    `builddate = ${o.builddate}`,
    `packager = ${PACKAGER}`,
    `size = ${o.size}`,
    `arch = ${spec.arch}`,
    `origin = ${spec.origin ?? spec.name}`,
    `commit = ${o.commit}`,
    `maintainer = ${MAINTAINER}`,
  ];
  if (spec.providerPriority !== undefined) lines.push(`provider_priority = ${spec.providerPriority}`);
  lines.push(`license = ${spec.license ?? 'MIT'}`);
  for (const r of spec.replaces ?? []) lines.push(`replaces = ${r}`);
  for (const d of spec.depends ?? []) lines.push(`depend = ${d}`);
  for (const p of spec.provides ?? []) lines.push(`provides = ${p}`);
  if (spec.triggers?.length) lines.push(`triggers = ${spec.triggers.join(' ')}`);
  if (spec.installIf?.length) lines.push(`install_if = ${spec.installIf.join(' ')}`);
  lines.push(`datahash = ${o.datahash}`);
  return `${lines.join('\n')}\n`;
}

/** A fixed, fake aports commit per package (c:). */
export function commitOf(spec: ApkSpec): string {
  return sha1(`${spec.origin ?? spec.name}-${spec.version}`).toString('hex');
}

/** Builds one package: the .apk bytes and what they carry. */
export function buildApk(spec: ApkSpec, signer: ApkSigner, builddate: number): { bytes: Buffer; built: ApkBuilt } {
  const data = dataMember(spec.entries, builddate, spec.tamperedFile);
  const datahash = sha256Hex(data.member);
  const size = data.files.reduce((n, f) => n + f.size, 0);
  const info = pkginfo(spec, { builddate, size, commit: commitOf(spec), datahash: spec.wrongDatahash ? sha256Hex(`not ${datahash}`) : datahash });
  const control: Buffer[] = [];
  const times: [string, string][] = [['atime', '0'], ['ctime', '0']];
  const addControl = (name: string, text: string, mode: number) => {
    const body = Buffer.from(text);
    control.push(paxBlock(name, times, builddate), tarHeader({ name, type: '0', mode, size: body.length, mtime: builddate }), padBlock(body));
  };
  addControl('.PKGINFO', info, 0o644);
  const scripts = SCRIPT_ORDER.filter((s) => spec.scripts?.[s] !== undefined);
  for (const s of scripts) addControl(`.${s}`, spec.scripts?.[s] as string, 0o755);
  const controlMember = gzipMember(Buffer.concat(control));
  const signature = spec.signature ?? 'RSA';
  const members = signature === 'none' ? [controlMember, data.member] : [signatureMember(controlMember, signer, signature, builddate), controlMember, data.member];
  const bytes = Buffer.concat(members);
  const offsets: number[] = [];
  let at = 0;
  for (const m of members) {
    offsets.push(at);
    at += m.length;
  }
  const built: ApkBuilt = {
    name: spec.name,
    version: spec.version,
    arch: spec.arch,
    filename: `${spec.name}-${spec.version}.apk`,
    size: bytes.length,
    installedSize: size,
    checksum: q1(controlMember),
    datahash,
    sha256: sha256Hex(bytes),
    builddate,
    commit: commitOf(spec),
    desc: spec.desc,
    url: spec.url ?? 'https://kiln.invalid/',
    license: spec.license ?? 'MIT',
    origin: spec.origin ?? spec.name,
    depends: spec.depends ?? [],
    provides: spec.provides ?? [],
    installIf: spec.installIf ?? [],
    providerPriority: spec.providerPriority,
    replaces: spec.replaces ?? [],
    triggers: spec.triggers ?? [],
    scripts,
    signature,
    files: data.files,
    members: offsets,
  };
  return { bytes, built };
}

/** One APKINDEX record, as apk-tools writes it (without the blank line after it). */
export function indexRecord(p: ApkBuilt): string {
  const lines = [`C:${p.checksum}`, `P:${p.name}`, `V:${p.version}`, `A:${p.arch}`, `S:${p.size}`, `I:${p.installedSize}`, `T:${p.desc}`, `U:${p.url}`, `L:${p.license}`, `o:${p.origin}`, `m:${MAINTAINER}`, `t:${p.builddate}`, `c:${p.commit}`];
  if (p.providerPriority) lines.push(`k:${p.providerPriority}`);
  if (p.depends.length) lines.push(`D:${p.depends.join(' ')}`);
  if (p.provides.length) lines.push(`p:${p.provides.join(' ')}`);
  if (p.installIf.length) lines.push(`i:${p.installIf.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** APKINDEX.tar.gz for `packages` (name, then version order kept as given), signed by `signer` (or unsigned with null). */
export function buildIndex(packages: readonly ApkBuilt[], description: string, signer: ApkSigner | null, mtime: number): Buffer {
  const text = packages.map((p) => `${indexRecord(p)}\n`).join('');
  const entry = (name: string, body: Buffer) => [tarHeader({ name, type: '0', mode: 0o644, size: body.length, mtime, magic: 'gnu' }), padBlock(body)];
  const tar = Buffer.concat([...entry('DESCRIPTION', Buffer.from(description)), ...entry('APKINDEX', Buffer.from(text))]);
  const indexMember = gzipMember(Buffer.concat([tar, Buffer.alloc(1024)]));
  return signer ? Buffer.concat([signatureMember(indexMember, signer, 'RSA', mtime), indexMember]) : indexMember;
}
