/**
 * Native twins for Alpine trees (what src/formats/twins.ts asks of a
 * format): busybox, whose applets nearly every apk script starts, runs
 * natively only as its pure applets, by `busybox APPLET` or through an
 * applet's symlink; the GNU tools by Alpine's names where an image has
 * them. The twins come from the configured repositories for the host's
 * architecture (x86_64 beside aarch64), each APKINDEX.tar.gz signature
 * checked against the same keys, each package checked as every apk is
 * (its control stream is the index's C:, signed by a trusted key, its data
 * the datahash). Twins are musl programs, run by musl's loader
 * (ld-musl-x86_64.so.1, from the musl twin); apk's dependencies name
 * so: and cmd: provides, resolved to the host index's packages. The tree's
 * side is apk's database: /lib/apk/db/installed (versions, and each
 * file's Z: checksum) and /lib/apk/db/scripts.tar (which packages have
 * scripts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractTar } from '../../archive/index.ts';
import { hostMachine, type Distribution } from '../../catalog/index.ts';
import { downloadToStore, fetchMutableIndex, writeJsonAtomic } from '../../repo/index.ts';
import type { Tree } from '../../tree/index.ts';
import { GNU_TOOL_TWIN_RULES, PURE_BUSYBOX_APPLETS } from '../busybox-applets.ts';
import { twinKeyring, twinMirror, type FormatTwins, type TwinCandidate, type TwinContext, type TwinRule, type TwinTreeFacts } from '../twins.ts';
import { parseRecords, readApkIndex } from './apkindex.ts';
import { INSTALLED, SCRIPTS_TAR } from './installed-db.ts';
import { configuredKeys } from './keys.ts';
import { dataTar, q1, readApkPackage } from './package.ts';
import { APK_SCRIPT_PACKAGE_VARIABLE } from './scripts.ts';
import { apkSources, type ApkSource } from './sources.ts';
import { readSlice, splitGzipStreams, type GzipStream } from './streams.ts';
import { keysFromPlan, signaturesIn } from './trust.ts';
import type { ApkPackage } from './types.ts';

/**
 * Alpine's packages whose programs scripts and triggers start: busybox
 * (alpine-base's whole userland: its scripts, alpine-baselayout's and
 * openrc's call applets, as `busybox mkdir` or through the symlinks
 * `busybox --install -s` makes) only as its pure applets, and the GNU
 * tools a bigger image has instead, by Alpine's names. busybox's shells,
 * apk, and anything reporting the machine stay emulated.
 */
const APK_TWIN_RULES: Readonly<Record<string, TwinRule>> = {
  busybox: { only: ['busybox'], firstArgs: { busybox: [...PURE_BUSYBOX_APPLETS] }, aliases: { busybox: [...PURE_BUSYBOX_APPLETS] } },
  ...GNU_TOOL_TWIN_RULES,
};

const NEVER_NATIVE: ReadonlySet<string> = new Set(['uname', 'arch', 'stdbuf', 'nproc', 'getconf', 'ldconfig', 'sh', 'ash', 'bash', 'apk', 'busybox']);

/** The scripts an install runs (a package with only deinstall or upgrade scripts ran none). */
const INSTALL_SCRIPTS = ['pre-install', 'post-install', 'trigger'];

/** The host's Alpine architecture name (x86_64), if Alpine has one. */
function hostApkArch(distribution: Distribution): string | undefined {
  return Object.entries(distribution.architectures).find(([, m]) => m === hostMachine())?.[0];
}

const memoDir = (ctx: TwinContext) => join(ctx.cacheDir, 'plans');

/** A dependency's or provide's name: no `!`, version bound or `@tag`. */
export function apkDependencyName(dep: string): string {
  return dep.replace(/^!/, '').replace(/@.*$/, '').replace(/[<>=~].*$/, '');
}

/**
 * The index's packages as twin candidates. An apk dependency names a
 * package or a provide (so:libc.musl-x86_64.so.1, cmd:sh, /bin/sh): each
 * becomes the group of the index's packages providing it, the one the tree
 * has being picked; a conflict (`!name`) is no dependency. A library is a
 * package that provides a shared object (so:). The index gives no sha256
 * of a package's file: a candidate's `sha256` is its C: (the control
 * stream's SHA1, in hex), which vouches for the whole package, through
 * the datahash, and names it in the twin store.
 */
export function apkTwinCandidates(packages: readonly ApkPackage[], source: Pick<ApkSource, 'name' | 'url' | 'signed' | 'keyring'>): TwinCandidate[] {
  const providers = new Map<string, string[]>();
  const provide = (name: string, by: string) => {
    const list = providers.get(name) ?? [];
    if (!list.includes(by)) providers.set(name, [...list, by]);
  };
  for (const p of packages) {
    provide(p.name, p.name);
    for (const what of p.provides) provide(apkDependencyName(what), p.name);
  }
  return packages.map((p) => ({
    name: p.name,
    version: p.version,
    architecture: p.arch,
    sha256: Buffer.from(p.checksum.replace(/^Q1/, ''), 'base64').toString('hex'),
    size: p.size,
    urls: [`${source.url}/${p.name}-${p.version}.apk`],
    depends: p.depends.filter((d) => !d.startsWith('!')).map((d) => providers.get(apkDependencyName(d)) ?? [apkDependencyName(d)]),
    library: p.provides.some((what) => what.startsWith('so:')),
    extra: { repo: source.name, checksum: p.checksum, signed: source.signed, keyring: source.keyring },
  }));
}

/** Each configured repository's index for the host's architecture, its signature checked; one the mirror lacks is said once. */
async function hostIndex(ctx: TwinContext): Promise<{ architecture: string; candidates: TwinCandidate[] } | undefined> {
  const architecture = hostApkArch(ctx.distribution);
  if (!architecture) return undefined;
  // build.twin-mirror, else the tree's mirror; each repository's own mirror (repository-mirrors) as for the tree.
  const sources = apkSources({ ...ctx.config, 'distribution.architecture': architecture, 'distribution.mirror': twinMirror(ctx.config, ctx.distribution) });
  const candidates: TwinCandidate[] = [];
  for (const s of sources) {
    const keyring = s.keyring ?? twinKeyring(ctx.config);
    if (s.signed && !keyring.length) {
      ctx.emit({ kind: 'log', level: 'info', source: 'twins', message: `no ${architecture} twins from ${s.name}: no keyring to check them with yet (keyring-bootstrap)` });
      continue;
    }
    const url = `${s.url}/APKINDEX.tar.gz`;
    const data = await fetchMutableIndex({ ...ctx, memoDir: memoDir(ctx) }, { url, name: `${s.name}/${architecture}/APKINDEX.tar.gz`, recordKind: 'apk-index' });
    if (!data) {
      ctx.emit({ kind: 'log', level: 'info', source: 'twins', message: `no ${architecture} twins from ${s.name}: ${url} not found` });
      continue;
    }
    const keys = s.signed ? keysFromPlan(configuredKeys(ctx.config, keyring)) : undefined;
    // Alpine signs each architecture's indexes with keys of its own: a keyring for the tree's architecture alone has no twins.
    const signers = keys ? await indexSigners(data) : [];
    if (keys && signers.length && !signers.some((name) => keys.some((k) => k.name === name))) {
      ctx.emit({ kind: 'log', level: 'info', source: 'twins', message: `no ${architecture} twins from ${s.name}: its index is signed by ${signers.join(', ')}, not in the twins' keyring (build.twin-keyring, else distribution.keyring)` });
      continue;
    }
    const index = await readApkIndex(data, url, s.name, keys);
    candidates.push(...apkTwinCandidates(index.packages.filter((p) => p.arch === architecture || p.arch === 'noarch'), s));
  }
  return { architecture, candidates };
}

/** The names of the keys an index's signatures are by (none when it has no signature stream, or an unreadable one: readApkIndex says so). */
async function indexSigners(data: Buffer): Promise<string[]> {
  try {
    const streams = splitGzipStreams(data);
    return streams.length > 1 ? signaturesIn(await readSlice((streams[0] as GzipStream).data)).map((s) => s.keyName) : [];
  } catch {
    return [];
  }
}

const label = (twin: TwinCandidate) => `twin ${twin.name} ${twin.version} ${twin.architecture} (${twin.urls[0] ?? ''})`;
const identity = (twin: TwinCandidate) => ({ name: twin.name, version: twin.version, architecture: twin.architecture });

const keysOf = (ctx: TwinContext, twin: TwinCandidate) =>
  twin.extra?.signed ? keysFromPlan(configuredKeys(ctx.config, (twin.extra.keyring as string[] | undefined) ?? twinKeyring(ctx.config))) : undefined;
/** Where the sha256 of a twin's file is kept, by its C: (the index gives none). */
const fileRecord = (ctx: TwinContext, twin: TwinCandidate) => join(memoDir(ctx), 'apk-twin-files', `${twin.sha256}.json`);

/** The package, checked as every apk: its control stream is the index's C:, signed by a trusted key (when its repository is signed), its data the datahash. */
async function read(ctx: TwinContext, twin: TwinCandidate): Promise<Buffer> {
  const got = await downloadToStore(ctx.store, { urls: twin.urls, name: `${twin.name}-${twin.version}.apk`, size: twin.size }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal });
  const data = await readFile(got.path);
  await readApkPackage(data, identity(twin), label(twin), { keys: keysOf(ctx, twin), checksum: twin.extra?.checksum as string });
  await writeJsonAtomic(fileRecord(ctx, twin), { sha256: got.sha256 }).catch(() => undefined);
  return data;
}

/** A twin already in the store: its package's signature checked again under this build's keyring (the index's C: does not cover it). */
async function recheck(ctx: TwinContext, twin: TwinCandidate): Promise<void> {
  if (!twin.extra?.signed) return;
  const known = await readFile(fileRecord(ctx, twin), 'utf8').then((t) => (JSON.parse(t) as { sha256: string }).sha256, () => undefined);
  if (!known || !(await ctx.store.has(known))) {
    await read(ctx, twin);
    return;
  }
  await readApkPackage(await readFile(ctx.store.pathFor(known)), identity(twin), label(twin), { keys: keysOf(ctx, twin), checksum: twin.extra.checksum as string });
}

/** The data stream's files (read() has checked the package; its checksum again ties these bytes to it). */
async function extract(data: Buffer, twin: TwinCandidate, dir: string): Promise<void> {
  const pkg = await readApkPackage(data, identity(twin), label(twin), { checksum: twin.extra?.checksum as string });
  await extractTar(dataTar(pkg, label(twin)), dir, { chown: false });
}

/** The installed database's records, each as its lines in order (files are F:, then R: and Z: lines under it). */
function installedRecords(tree: Tree): string[][] {
  return (tree.readTextIfExists(INSTALLED) ?? '').split(/\n\n+/).map((r) => r.split('\n').filter((l) => l[1] === ':'));
}

/** Installed package -> version. */
function installed(tree: Tree): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of parseRecords(tree.readTextIfExists(INSTALLED) ?? '')) {
    const [name, version] = [r.get('P')?.[0], r.get('V')?.[0]];
    if (name && version) out.set(name, version);
  }
  return out;
}

/** A package's files as the database records them: path -> Z: (`Q1` + base64 SHA1 of the content). */
export function installedChecksums(records: readonly string[][], name: string, version: string): Map<string, string> {
  const out = new Map<string, string>();
  const record = records.find((lines) => lines.includes(`P:${name}`) && lines.includes(`V:${version}`));
  let dir = '';
  let file: string | undefined;
  for (const line of record ?? []) {
    const [key, value] = [line[0], line.slice(2)];
    if (key === 'F') [dir, file] = [value, undefined];
    else if (key === 'R') file = dir ? `${dir}/${value}` : value;
    else if (key === 'Z' && file !== undefined) out.set(file, value);
  }
  return out;
}

/** The member names of a tar (scripts.tar: ustar headers, GNU long names). */
export function tarMemberNames(tar: Buffer): string[] {
  const names: string[] = [];
  let long: string | undefined;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const text = (from: number, to: number) => header.toString('utf8', from, to).replace(/\0.*$/s, '');
    const size = parseInt(text(124, 136).trim() || '0', 8);
    const body = at + 512;
    if (text(156, 157) === 'L') long = tar.toString('utf8', body, body + size).replace(/\0+$/, '');
    else {
      names.push(long ?? text(0, 100));
      long = undefined;
    }
    at = body + Math.ceil(size / 512) * 512;
  }
  return names;
}

const APK_TREE: TwinTreeFacts = {
  installed,
  shipped(tree, name, version) {
    const sums = installedChecksums(installedRecords(tree), name, version);
    return (rel) => {
      const st = sums.has(rel) ? tree.stat(rel) : undefined;
      return !!st?.isFile() && q1(tree.readBytes(rel)) === sums.get(rel);
    };
  },
  hasScripts(tree, name, version) {
    const names = tree.stat(SCRIPTS_TAR)?.isFile() ? tarMemberNames(tree.readBytes(SCRIPTS_TAR)) : [];
    // NAME-VERSION.Q1CHECKSUM.TYPE
    return names.some((n) => n.startsWith(`${name}-${version}.`) && INSTALL_SCRIPTS.some((t) => n.endsWith(`.${t}`)));
  },
  // apk names no package to its scripts: kiln's script batch does.
  scriptPackageVariable: APK_SCRIPT_PACKAGE_VARIABLE,
};

export const apkTwins: FormatTwins = {
  rules: APK_TWIN_RULES,
  neverNative: NEVER_NATIVE,
  loaderPackage: 'musl',
  // A package Alpine names as a library (libfoo, foo-libs) that the host has not got stops the twin that needs it.
  libraryByName: (name) => name.startsWith('lib') || name.endsWith('-libs') || name.startsWith('so:'),
  hostIndex,
  read,
  recheck,
  extract,
  tree: APK_TREE,
};
