/**
 * Small derived results kept between builds (e.g. a resolved package plan),
 * stored as JSON under a key that covers everything they depend on. Written
 * atomically (temporary file, then rename), so a reader never sees half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function memoKey(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(typeof part === 'string' ? part : JSON.stringify(part)).update('\0');
  return hash.digest('hex');
}

export async function memoized<T>(dir: string, key: string, compute: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
  const path = join(dir, `${key}.json`);
  try {
    return { value: JSON.parse(await readFile(path, 'utf8')) as T, hit: true };
  } catch {
    /* missing or unreadable: compute it */
  }
  const value = await compute();
  await writeJsonAtomic(path, value).catch(() => undefined);
  return { value, hit: false };
}

/** Writes JSON under a temporary name and renames it: a reader sees the old file or the new one, whole. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
