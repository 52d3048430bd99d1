/**
 * The twin store: host-architecture packages unpacked once into kiln's cache
 * (`twins/NAME_VERSION_ARCH/`), taken from the same archive as the tree (its
 * signed Packages index for the host's architecture gives their versions and
 * sha256) and verified like every package. An entry is written atomically
 * (a temporary directory, then rename; losing the race to another build is
 * fine) and records the sha256 of the package it came from, checked on use.
 * Runs on the host side, before the namespace: the worker only reads it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decompress, extractTar, readDeb } from '../archive/index.ts';
import { DISTRIBUTIONS, hostMachine } from '../catalog/index.ts';
import { fetchPackagesIndex, fetchRelease, type ArchiveAccess } from '../formats/deb/index.ts';
import { readVerified } from '../repo/index.ts';
import { findHostTool, HOST_TOOLS } from '../tools/index.ts';
import type { Emit } from '../util/events.ts';
import { selectTwins, twinDirName, TWIN_RULES, type TwinPackage } from './native-twins.ts';

/** What the worker needs to run twins (JSON-serialisable; paths on the host). */
export interface TwinSet {
  /** The store's directory (bound under the command's /run). */
  storeDir: string;
  /** The twin loader, relative to the store. */
  loader: string;
  /** The twins' library directories, relative to the store, in search order. */
  libraryPath: string[];
  /** Packages whose programs run natively: their store directories, relative. */
  programs: { name: string; version: string; dir: string }[];
  /** The static busybox whose shell runs the dispatcher. */
  busybox: string;
}

export interface TwinSource {
  access: ArchiveAccess;
  mirror: string;
  release: string;
  components: string[];
  cacheDir: string;
  emit: Emit;
}

/** The host's Debian architecture name (amd64 on x86_64), if Debian has one. */
export function hostDebianArch(): string | undefined {
  return Object.entries(DISTRIBUTIONS.debian.architectures).find(([, m]) => m === hostMachine())?.[0];
}

/**
 * The twins for a planned tree, fetched and unpacked into the store when
 * missing; undefined (said once) when there are none to use.
 */
export async function prepareTwins(tree: readonly { name: string; version: string }[], source: TwinSource): Promise<TwinSet | undefined> {
  const { access, emit } = source;
  const hostArch = hostDebianArch();
  if (!hostArch || !tree.some((p) => p.name in TWIN_RULES)) return undefined;
  const release = await fetchRelease(access, source.mirror, source.release);
  const index = [];
  for (const component of source.components) index.push(...(await fetchPackagesIndex(access, source.mirror, source.release, release, `${component}/binary-${hostArch}/Packages`)));
  const { twins, skipped } = selectTwins(tree, index, hostArch);
  for (const s of skipped) emit({ kind: 'log', level: 'info', source: 'twins', message: `${s.name} stays emulated: ${s.why}` });
  const storeDir = join(source.cacheDir, 'twins');
  await mkdir(storeDir, { recursive: true });
  for (const twin of twins) await ensureUnpacked(twin, storeDir, source);
  const libc = twins.find((t) => t.name === 'libc6');
  const loader = libc && findLoader(storeDir, twinDirName(libc));
  const programs = twins.filter((t) => t.role === 'programs');
  if (!loader || !programs.length) {
    emit({ kind: 'log', level: 'info', source: 'twins', message: 'no native twins to use: every program runs under QEMU' });
    return undefined;
  }
  const libraryPath = twins.flatMap((t) => libraryDirs(storeDir, twinDirName(t)));
  // Always kiln's own copy: a busybox on the host's PATH may be linked dynamically.
  const busybox = await findHostTool(HOST_TOOLS['busybox-static'](), {
    mode: 'download',
    cacheDir: source.cacheDir,
    emit,
    fallbackArchive: { mirror: source.mirror, release: source.release, keyring: access.keyring },
    signal: access.signal,
    limits: access.limits,
    purpose: 'native twins',
  });
  return { storeDir, loader, libraryPath, programs: programs.map((p) => ({ name: p.name, version: p.version, dir: twinDirName(p) })), busybox };
}

const STAMP = '.kiln-twin.json';

/** Unpacks the twin's data into the store unless an entry from the same package is there. */
async function ensureUnpacked(twin: TwinPackage, storeDir: string, source: TwinSource): Promise<void> {
  const dir = join(storeDir, twinDirName(twin));
  if (readStamp(dir) === twin.sha256) return;
  const { access } = source;
  const data = await readVerified(
    access.store,
    { urls: [`${source.mirror}/${twin.filename}`], sha256: twin.sha256, size: twin.size, name: twin.name },
    { ...access.limits, emit: access.emit, signal: access.signal },
  );
  const deb = readDeb(data, twin.name);
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    await extractTar(decompress(deb.data.data, deb.data.kind), tmp, { chown: false });
    await writeFile(join(tmp, STAMP), JSON.stringify({ package: twin.name, version: twin.version, architecture: twin.architecture, sha256: twin.sha256 }));
    // A stale or damaged entry goes first; another build may be putting the same entry in place just now.
    if (existsSync(dir) && readStamp(dir) !== twin.sha256) await rm(dir, { recursive: true, force: true });
    try {
      await rename(tmp, dir);
    } catch (err) {
      if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '') || readStamp(dir) !== twin.sha256) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function readStamp(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, STAMP), 'utf8')) as { sha256?: string }).sha256;
  } catch {
    return undefined;
  }
}

/** The dynamic loader in a libc6 twin (lib/TRIPLET/ld-linux*.so.*, or lib64 in older layouts). */
function findLoader(storeDir: string, dir: string): string | undefined {
  for (const base of ['lib', 'usr/lib', 'lib64', 'usr/lib64']) {
    for (const sub of ['', ...safeList(join(storeDir, dir, base))]) {
      const where = join(base, sub);
      const name = safeList(join(storeDir, dir, where)).find((n) => /^ld-linux[-\w.]*\.so\.\d+$/.test(n));
      if (name) return join(dir, where, name);
    }
  }
  return undefined;
}

/**
 * A twin's directories of shared libraries: lib/TRIPLET and usr/lib/TRIPLET,
 * and their subdirectories holding lib*.so* (a package's private libraries,
 * such as libsystemd-shared's TRIPLET/systemd, which its programs' RUNPATH
 * names by its host path, not there in a foreign tree).
 */
export function libraryDirs(storeDir: string, dir: string): string[] {
  const out: string[] = [];
  for (const base of ['lib', 'usr/lib']) {
    for (const sub of safeList(join(storeDir, dir, base))) {
      if (!/-linux-gnu/.test(sub)) continue;
      out.push(join(dir, base, sub));
      for (const inner of safeDirs(join(storeDir, dir, base, sub))) {
        if (safeList(join(storeDir, dir, base, sub, inner)).some((n) => /^lib.*\.so(\.|$)/.test(n))) out.push(join(dir, base, sub, inner));
      }
    }
  }
  return out;
}

function safeDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isFile())
      .map((e) => e.name);
  } catch {
    return [];
  }
}
