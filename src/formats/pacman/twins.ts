/**
 * Native twins for pacman trees (what src/formats/twins.ts asks of a
 * format): the packages whose programs .INSTALL scriptlets and ALPM hooks
 * start, with the rules for which of their programs run natively; the twins
 * come from the same repositories for the host's architecture (the mirror
 * pattern with $arch the host's: x86_64 beside aarch64), their databases'
 * signatures and the packages' own checked as every package's are; the
 * tree's side is pacman's local database (desc, mtree).
 */
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { compressionFromName, decompressMember, extractTar } from '../../archive/index.ts';
import { DISTRIBUTIONS, hostMachine, type Distribution } from '../../catalog/index.ts';
import { checkSignature, readVerified } from '../../repo/index.ts';
import type { Tree } from '../../tree/index.ts';
import { GNU_TOOL_TWIN_RULES, PURE_BUSYBOX_APPLETS } from '../busybox-applets.ts';
import { twinKeyring, twinMirror, type FormatTwins, type TwinCandidate, type TwinContext, type TwinRule, type TwinTreeFacts } from '../twins.ts';
import { parseDesc } from './db.ts';
import { LOCAL_DB } from './localdb.ts';
import { SCRIPT_PACKAGE_VARIABLE } from './transaction.ts';
import { databaseUrl, fetchDatabase, pacmanSources, readDb, type PacmanSource } from './plan.ts';
import type { PacmanPackage } from './types.ts';
import { anchorsFrom, fetchSignature } from './verify.ts';

/**
 * Arch's packages whose programs scriptlets and hooks start (the same tools
 * as Debian's maintainer scripts, by Arch's names), and busybox (the fixture's
 * and small images' whole userland) only for its pure applets. bash runs
 * the scriptlets and stays emulated ($HOSTTYPE, $MACHTYPE), as do pacman,
 * ldconfig and anything reporting the machine.
 */
const PACMAN_TWIN_RULES: Readonly<Record<string, TwinRule>> = {
  busybox: { only: ['busybox'], firstArgs: { busybox: [...PURE_BUSYBOX_APPLETS] } },
  ...GNU_TOOL_TWIN_RULES,
  systemd: { only: ['systemctl'] },
  kmod: { only: ['kmod'], aliases: { kmod: ['modinfo', 'modprobe', 'depmod'] } },
  cpio: { only: ['cpio'] },
};

const NEVER_NATIVE: ReadonlySet<string> = new Set(['uname', 'arch', 'stdbuf', 'nproc', 'ldconfig', 'bash', 'sh', 'pacman', 'busybox']);

/** The host's pacman architecture name: the distribution's own, else a pacman distribution's (x86_64 is Arch Linux's, beside Arch Linux ARM). */
function hostPacmanArch(distribution: Distribution): string | undefined {
  const own = (d: Distribution) => Object.entries(d.architectures).find(([, m]) => m === hostMachine())?.[0];
  return own(distribution) ?? Object.values(DISTRIBUTIONS).filter((d) => d.format === 'pacman').map(own).find((a) => a !== undefined);
}

const memoDir = (ctx: TwinContext) => join(ctx.cacheDir, 'plans');

function candidate(p: PacmanPackage, source: PacmanSource): TwinCandidate {
  return {
    name: p.name,
    version: p.version,
    architecture: p.arch,
    sha256: p.sha256,
    size: p.csize,
    urls: [`${source.url}/${p.filename}`],
    // Each pacman dependency is one name (a version bound dropped; a soname provide names no package).
    depends: p.depends.map((d) => [d.replace(/[<>=].*$/, '')]),
    // An `any` package ships no code of an architecture: the libraries are in the others.
    library: p.arch !== 'any',
    extra: { repo: source.name, signed: source.signed, keyring: source.keyring, pgpsig: p.pgpsig },
  };
}

/** Each repository's database for the host's architecture, first repository first (pacman's order); one the mirror lacks is said once. */
async function hostIndex(ctx: TwinContext): Promise<{ architecture: string; candidates: TwinCandidate[] } | undefined> {
  const architecture = hostPacmanArch(ctx.distribution);
  if (!architecture) return undefined;
  const c = ctx.config;
  // build.twin-mirror serves the distribution's repositories; a per-repository mirror of the target's stays with it only on the same mirror.
  const mirror = twinMirror(c, ctx.distribution);
  const own = mirror === c['distribution.mirror'];
  const keyring = twinKeyring(c);
  const sources = pacmanSources({ ...c, 'distribution.mirror': mirror, 'distribution.repository-mirrors': own ? c['distribution.repository-mirrors'] : {} }, architecture).map((s) => ({ ...s, keyring: s.keyring ?? keyring }));
  const candidates: TwinCandidate[] = [];
  for (const s of sources) {
    if (s.signed && !s.keyring.length) {
      ctx.emit({ kind: 'log', level: 'info', source: 'twins', message: `no ${architecture} twins from ${s.name}: no keyring to check them with yet (keyring-bootstrap)` });
      continue;
    }
    const data = await fetchDatabase({ ...ctx, memoDir: memoDir(ctx) }, s);
    if (!data) {
      ctx.emit({ kind: 'log', level: 'info', source: 'twins', message: `no ${architecture} twins from ${s.name}: ${databaseUrl(s)} not found` });
      continue;
    }
    for (const p of await readDb(data, s.name, databaseUrl(s))) candidates.push(candidate(p, s));
  }
  return { architecture, candidates };
}

const fetchTwin = (ctx: TwinContext, twin: TwinCandidate) =>
  readVerified(ctx.store, { urls: twin.urls, sha256: twin.sha256, size: twin.size, name: twin.name }, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal });

/** The twin's signature (the database's %PGPSIG% or URL.sig), when its repository is signed, against this build's twin keyring; memoized per key set. */
async function checkTwinSignature(ctx: TwinContext, twin: TwinCandidate, data: () => Promise<Buffer>): Promise<void> {
  const extra = twin.extra ?? {};
  if (!extra.signed) return;
  const pgpsig = extra.pgpsig as string | undefined;
  const signature = pgpsig ? Buffer.from(pgpsig, 'base64') : await fetchSignature(ctx, twin.urls[0] as string, twin.name);
  const anchors = anchorsFrom((extra.keyring as string[] | undefined) ?? twinKeyring(ctx.config));
  await checkSignature(memoDir(ctx), anchors, { kind: 'pacman-signature', sha256: twin.sha256, signature, read: data, source: `twin ${twin.name} ${twin.version} ${twin.architecture} (${String(extra.repo)})` });
}

/** The package by its database's sha256, then its signature. */
async function read(ctx: TwinContext, twin: TwinCandidate): Promise<Buffer> {
  const data = await fetchTwin(ctx, twin);
  await checkTwinSignature(ctx, twin, async () => data);
  return data;
}

async function extract(data: Buffer, twin: TwinCandidate, dir: string): Promise<void> {
  const tar = await decompressMember(data, compressionFromName(twin.urls[0] ?? ''));
  // The metadata members (.PKGINFO, .MTREE, ...) come along: nothing runs them, and the programs are under usr/.
  await extractTar(tar, dir, { chown: false });
}

/** Installed package -> version, from each local database entry's desc. */
function installed(tree: Tree): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of tree.isDirectory(LOCAL_DB) ? tree.readdir(LOCAL_DB) : []) {
    const desc = tree.readTextIfExists(`${LOCAL_DB}/${entry}/desc`);
    if (!desc) continue;
    const fields = parseDesc(desc);
    const [name, version] = [fields.get('NAME')?.[0], fields.get('VERSION')?.[0]];
    if (name && version) out.set(name, version);
  }
  return out;
}

/** sha256 of each file of the package's .MTREE (as the local database keeps it): path -> digest. */
export function mtreeDigests(gzipped: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of gunzipSync(gzipped).toString('utf8').split('\n')) {
    if (!line.startsWith('./')) continue;
    const [path, ...keywords] = line.split(' ');
    const digest = keywords.find((k) => k.startsWith('sha256digest='))?.slice('sha256digest='.length);
    // mtree writes special characters as \ooo.
    if (digest) out.set((path as string).slice(2).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), digest);
  }
  return out;
}

const PACMAN_TREE: TwinTreeFacts = {
  installed,
  shipped(tree, name, version) {
    const mtree = tree.stat(`${LOCAL_DB}/${name}-${version}/mtree`)?.isFile() ? tree.readBytes(`${LOCAL_DB}/${name}-${version}/mtree`) : undefined;
    const digests = mtree ? mtreeDigests(mtree) : new Map<string, string>();
    return (rel) => {
      const st = digests.has(rel) ? tree.stat(rel) : undefined;
      return !!st?.isFile() && createHash('sha256').update(tree.readBytes(rel)).digest('hex') === digests.get(rel);
    };
  },
  hasScripts: (tree, name, version) => tree.stat(`${LOCAL_DB}/${name}-${version}/install`)?.isFile() ?? false,
  // pacman names no package to its scriptlets: kiln's scriptlet batch does.
  scriptPackageVariable: SCRIPT_PACKAGE_VARIABLE,
};

export const pacmanTwins: FormatTwins = {
  rules: PACMAN_TWIN_RULES,
  neverNative: NEVER_NATIVE,
  loaderPackage: 'glibc',
  // Arch has no naming rule for libraries: a dependency the host has not got stops its twin.
  libraryByName: () => true,
  hostIndex,
  read,
  // An unpacked twin was checked under the keyring of the build that fetched it: its signature again under this one's.
  recheck: (ctx, twin) => checkTwinSignature(ctx, twin, () => fetchTwin(ctx, twin)),
  extract,
  tree: PACMAN_TREE,
};
