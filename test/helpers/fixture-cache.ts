/**
 * The fixture cache that generated repositories share (fake Arch today, the
 * next format's tomorrow): downloaded .debs in a blob store, and finished
 * repositories under built/KEY, keyed by the text of the helpers that make
 * them and by their inputs, so a warm run only copies a directory. Every
 * write is atomic; a concurrent twin may win the race.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, lstat, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Builds of older inputs go after a week unused. */
const STALE_MS = 7 * 24 * 3600_000;

export function defaultFixtureCache(): string {
  return join(tmpdir(), 'kiln-fake-arch-cache');
}

/** A hash of these helper files (names relative to test/helpers/), to key what they make. */
export function helpersDigest(files: readonly string[]): ReturnType<typeof createHash> {
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update('\0').update(readFileSync(fileURLToPath(new URL(`./${file}`, import.meta.url))));
  return hash;
}

export async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export async function writeAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Runs at most `n` of the jobs given to it at a time. */
export function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** A finished build in the cache: `names` (below dir) of which `marker` is written last. */
export interface CachedBuild {
  /** cacheDir/built/KEY */
  entry: string;
  names: readonly string[];
  marker: string;
}

export function cachedBuild(cacheDir: string, key: string, names: readonly string[], marker: string): CachedBuild {
  return { entry: join(cacheDir, 'built', key), names, marker };
}

/** Copies a cached build into `dir`; false when there is none. */
export async function restoreBuild(build: CachedBuild, dir: string): Promise<boolean> {
  if (!existsSync(join(build.entry, build.marker))) return false;
  await utimes(build.entry, new Date(), new Date()).catch(() => {});
  for (const name of build.names) if (existsSync(join(build.entry, name))) await cp(join(build.entry, name), join(dir, name), { recursive: true, verbatimSymlinks: true });
  return true;
}

/** Copies a finished build from `dir` into the cache: to a temporary name, then one rename; a concurrent twin may win. */
export async function storeBuild(build: CachedBuild, dir: string): Promise<void> {
  const { entry } = build;
  const tmp = `${entry}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    for (const name of build.names) if (existsSync(join(dir, name))) await cp(join(dir, name), join(tmp, name), { recursive: true, verbatimSymlinks: true });
    await mkdir(dirname(entry), { recursive: true });
    await rename(tmp, entry);
  } catch (err) {
    if (!existsSync(join(entry, build.marker))) throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const built = dirname(entry);
  for (const name of await readdir(built)) {
    const age = Date.now() - (await lstat(join(built, name))).mtimeMs;
    if (age > STALE_MS && !name.endsWith('.tmp')) await rm(join(built, name), { recursive: true, force: true });
  }
}
