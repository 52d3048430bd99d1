/** Small shared helpers for unit tests: throwaway directories and files with known hashes. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { InstallPlan } from '../../src/formats/types.ts';
import { UserError } from '../../src/util/errors.ts';

/** A fresh directory under the system temp dir, removed after the test. */
export async function testDir(t: TestContext, prefix = 'kiln-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface FixtureFile {
  /** Path relative to the root, starting with '/'. */
  path: string;
  data: Buffer;
  sha256: string;
}

/** Writes `size` random bytes at `root + path` and returns them with their sha256. */
export async function randomFile(root: string, path: string, size: number): Promise<FixtureFile> {
  const data = randomBytes(size);
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), data);
  return { path, data, sha256: sha256(data) };
}

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Entries of a directory, or [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** mulberry32: a small seeded generator, so every run of a randomized test checks the same cases. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts that `fn` throws a UserError with this message (exact text or pattern) and, if given, this hint. */
export function throwsUserError(fn: () => unknown, message: string | RegExp, hint?: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UserError, `not a UserError: ${String(error)}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    if (typeof hint === 'string') assert.equal(error.hint, hint);
    else if (hint) assert.match(error.hint ?? '', hint);
    return true;
  });
}

/** A plan of one Debian package, for tests of what keys and plans are made from. */
export function oneDebPlan(): InstallPlan {
  return {
    format: 'deb',
    packages: [{ name: 'base-files', version: '12.4', architecture: 'amd64', size: 70000, sha256: 'a'.repeat(64), urls: ['http://127.0.0.1:9/b.deb'], reason: 'base set', extra: {} }],
    repositoryDate: 1_700_000_000,
    extra: { architecture: 'amd64' },
    warnings: [],
  };
}
