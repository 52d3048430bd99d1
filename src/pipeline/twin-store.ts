/**
 * The twin store: host-architecture packages unpacked once into kiln's cache
 * (`twins/NAME_VERSION_ARCH/`), taken from the same archive or repositories
 * as the tree (the format's host index gives their versions and sha256,
 * src/formats/twins.ts) and verified like every package of the format. An
 * entry is written atomically (a temporary directory, then rename; losing
 * the race to another build is fine) and records the sha256 of the package
 * it came from, checked on use. Runs on the host side, before the
 * namespace: the worker only reads it.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FormatName } from '../catalog/index.ts';
import type { FormatTwins, TwinContext } from '../formats/twins.ts';
import { findHostTool, HOST_TOOLS } from '../tools/index.ts';
import { selectTwins, twinDirName, type TwinPackage } from './native-twins.ts';

/** What the worker needs to run twins (JSON-serialisable; paths on the host). */
export interface TwinSet {
  /** The tree's format (whose database says which twins match it). */
  format: FormatName;
  /** The store's directory (bound under the command's /run). */
  storeDir: string;
  /** The twin loader, relative to the store. */
  loader: string;
  /**
   * The twins' library directories, relative to the store, in search order:
   * one directory of links standing for them all (see `oneLibraryDirectory`).
   */
  libraryPath: string[];
  /** Packages whose programs run natively: their store directories, relative. */
  programs: { name: string; version: string; dir: string }[];
  /** The static busybox whose shell runs the dispatcher. */
  busybox: string;
}

/** Where a Debian archive is, for fetching kiln's own busybox when the host has no apt sources. */
export interface TwinSource extends TwinContext {
  format: FormatName;
  debianArchive?: { mirror: string; release: string; keyring?: string[] };
}

/**
 * The twins for a planned tree, fetched and unpacked into the store when
 * missing; undefined (said once) when there are none to use.
 */
export async function prepareTwins(tree: readonly { name: string; version: string }[], formatTwins: FormatTwins, source: TwinSource): Promise<TwinSet | undefined> {
  const { emit } = source;
  if (!tree.some((p) => p.name in formatTwins.rules)) return undefined;
  const index = await formatTwins.hostIndex(source);
  if (!index) return undefined;
  const { twins, skipped } = selectTwins(tree, index, formatTwins);
  for (const s of skipped) emit({ kind: 'log', level: 'info', source: 'twins', message: `${s.name} stays emulated: ${s.why}` });
  const storeDir = join(source.cacheDir, 'twins');
  await mkdir(storeDir, { recursive: true });
  for (const twin of twins) await ensureUnpacked(twin, storeDir, formatTwins, source);
  const libc = twins.find((t) => t.name === formatTwins.loaderPackage);
  const loader = libc && findLoader(storeDir, twinDirName(libc));
  const programs = twins.filter((t) => t.role === 'programs');
  if (!loader || !programs.length) {
    emit({ kind: 'log', level: 'info', source: 'twins', message: 'no native twins to use: every program runs under QEMU' });
    return undefined;
  }
  const libraryPath = await oneLibraryDirectory(storeDir, twins.flatMap((t) => libraryDirs(storeDir, twinDirName(t))));
  // Always kiln's own copy: a busybox on the host's PATH may be linked dynamically.
  const busybox = await findHostTool(HOST_TOOLS['busybox-static'](), {
    mode: 'download',
    cacheDir: source.cacheDir,
    emit,
    fallbackArchive: source.debianArchive,
    signal: source.signal,
    limits: source.limits,
    purpose: 'native twins',
  });
  return { format: source.format, storeDir, loader, libraryPath, programs: programs.map((p) => ({ name: p.name, version: p.version, dir: twinDirName(p) })), busybox };
}

const STAMP = '.kiln-twin.json';

/** Unpacks the twin's data into the store unless an entry from the same package is there. */
async function ensureUnpacked(twin: TwinPackage, storeDir: string, formatTwins: FormatTwins, source: TwinContext): Promise<void> {
  const dir = join(storeDir, twinDirName(twin));
  if (readStamp(dir) === twin.sha256) {
    await formatTwins.recheck?.(source, twin);
    return;
  }
  const data = await formatTwins.read(source, twin);
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp);
    await formatTwins.extract(data, twin, tmp);
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

/** The dynamic loader in a libc twin: glibc's (lib/TRIPLET/ld-linux*.so.*, or lib64 in older layouts), or musl's (lib/ld-musl-ARCH.so.1). */
function findLoader(storeDir: string, dir: string): string | undefined {
  for (const base of ['lib', 'usr/lib', 'lib64', 'usr/lib64']) {
    for (const sub of ['', ...safeList(join(storeDir, dir, base))]) {
      const where = join(base, sub);
      const name = safeList(join(storeDir, dir, where)).find((n) => /^ld-(linux|musl)[-\w.]*\.so\.\d+$/.test(n));
      if (name) return join(dir, where, name);
    }
  }
  return undefined;
}

/**
 * One directory of links standing for the library directories `dirs` (in
 * the store, in search order), as the loader would search them: each name
 * links to the first directory's file of that name. The loader looks for
 * every library a twin needs in each directory of its --library-path, and
 * glibc 2.36 tries several hardware-capability subdirectories of each
 * first: with a bootable set's thirty directories that was about a
 * millisecond of failed opens for every program started, more than the
 * dispatcher. Kept in the store under the list's hash (written atomically,
 * shared by every build with the same twins). The list itself is kept when
 * a directory has a glibc-hwcaps subdirectory (a variant the links would hide).
 */
export async function oneLibraryDirectory(storeDir: string, dirs: string[]): Promise<string[]> {
  if (dirs.length < 2 || dirs.some((d) => existsSync(join(storeDir, d, 'glibc-hwcaps')))) return dirs;
  // Keyed by the directories and the package each came from (an entry unpacked anew from another package may hold other names).
  const key = dirs.map((d) => `${d} ${readStamp(join(storeDir, d.split('/')[0]!)) ?? ''}`).join('\n');
  const rel = join('libraries', createHash('sha256').update(key).digest('hex').slice(0, 32));
  const dir = join(storeDir, rel);
  if (existsSync(join(dir, STAMP))) return [rel];
  const links = new Map<string, string>();
  for (const d of dirs) for (const name of safeFiles(join(storeDir, d))) if (!links.has(name)) links.set(name, join(d, name));
  const tmp = `${dir}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await mkdir(tmp, { recursive: true });
    for (const [name, target] of links) await symlink(relative(dir, join(storeDir, target)), join(tmp, name));
    await writeFile(join(tmp, STAMP), JSON.stringify({ libraries: dirs }));
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another build put the same directory in place just now (or a damaged one is there: it goes).
      if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      if (!existsSync(join(dir, STAMP))) {
        await rm(dir, { recursive: true, force: true });
        await rename(tmp, dir);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return [rel];
}

/**
 * A twin's directories of shared libraries: lib/TRIPLET and usr/lib/TRIPLET,
 * and their subdirectories holding lib*.so* (a package's private libraries,
 * such as libsystemd-shared's TRIPLET/systemd, which its programs' RUNPATH
 * names by its host path, not there in a foreign tree). Where lib or
 * usr/lib itself holds libraries (Arch's layout, no triplet), it and its
 * subdirectories holding lib*.so* come after.
 */
export function libraryDirs(storeDir: string, dir: string): string[] {
  const out: string[] = [];
  const withLibraries = (rel: string) => safeList(join(storeDir, dir, rel)).some((n) => /^lib.*\.so(\.|$)/.test(n));
  const andPrivate = (rel: string) => [join(dir, rel), ...safeDirs(join(storeDir, dir, rel)).filter((inner) => withLibraries(join(rel, inner))).map((inner) => join(dir, rel, inner))];
  for (const base of ['lib', 'usr/lib']) {
    for (const sub of safeList(join(storeDir, dir, base))) if (/-linux-gnu/.test(sub)) out.push(...andPrivate(join(base, sub)));
    if (withLibraries(base)) out.push(...andPrivate(base).filter((d) => !/-linux-gnu/.test(d.slice(dir.length))));
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

/** A directory's files and symbolic links (what the loader can open by name), not its subdirectories. */
function safeFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.isDirectory())
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
