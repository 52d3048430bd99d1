/**
 * The reproducibility contract's test tools (issue 14), shared by the
 * repro-*.test.ts files: caches of their own, the digest of every output
 * file, the directory output as a content listing, manifest and SBOM
 * compared apart from the build time, and the driver that builds each image
 * twice under everything that must not matter: a cold cache, then a minute
 * later a warm copy of it in another cache directory (with its own private
 * secret), another image directory, umask 022 then 002, TZ and LANG changed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { imageDir, isRoot, kiln, TEST_USER } from './kiln.ts';

export const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function ownByTestUser(path: string): void {
  if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, path]);
}

/**
 * A cache directory of its own (its own private-key secret, no checkpoints),
 * with the test user's downloaded packages linked in so they are not
 * downloaded again (the store is content-addressed and hashed on every read).
 */
export function freshCache(): string {
  const parent = imageDir();
  const cache = join(parent, 'cache');
  const shared = join(isRoot ? `/home/${TEST_USER}` : homedir(), '.cache/kiln/downloads');
  mkdirSync(join(cache, 'kiln'), { recursive: true });
  if (existsSync(shared)) spawnSync('cp', ['-al', shared, join(cache, 'kiln/downloads')]);
  ownByTestUser(parent);
  return cache;
}

/**
 * Another cache directory holding what `cache` holds (checkpoints, plans,
 * downloads: linked, every write to them is a rename) but not its private
 * secret: a warm cache on what could be another machine.
 */
export function warmCopy(cache: string): string {
  const parent = imageDir();
  const copy = join(parent, 'cache');
  mkdirSync(join(copy, 'kiln'), { recursive: true });
  for (const name of readdirSync(join(cache, 'kiln'))) {
    if (name === 'private-key' || name === 'work') continue;
    const r = spawnSync('cp', ['-al', join(cache, 'kiln', name), join(copy, 'kiln', name)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  ownByTestUser(parent);
  return copy;
}

/** Every file under `dir` by relative path: its sha256 (a symlink: its target). */
export function digests(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    const abs = join(dir, name);
    const st = lstatSync(abs);
    const rel = `${prefix}${name}`;
    if (st.isDirectory()) for (const [k, v] of digests(abs, `${rel}/`)) out.set(k, v);
    else out.set(rel, st.isSymbolicLink() ? `-> ${readlinkSync(abs)}` : sha256(abs));
  }
  return out;
}

/** The directory output as a listing of its content: path, type, mode, owner, mtime, size, target and sha256 of each file. */
export function treeListing(root: string): string[] {
  const r = spawnSync('find', ['.', '-printf', '%p %y %m %U:%G %T@ %s %l\\n'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const files = spawnSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 -r sha256sum'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(files.status, 0, files.stderr);
  return [...r.stdout.split('\n').sort(), ...files.stdout.split('\n')];
}

export const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/** Two manifests (parsed) are the same apart from the build time, which each records (`apart`: builds far enough apart that it differs). */
export function assertSameManifest(a: Record<string, unknown>, b: Record<string, unknown>, apart = false): void {
  const { built: builtA, ...restA } = a;
  const { built: builtB, ...restB } = b;
  assert.ok(builtA && builtB, 'both manifests record the build time');
  if (apart) assert.notEqual(builtB, builtA, 'the build time is the wall clock');
  assert.deepEqual(restB, restA);
}

/** Manifest, SPDX and (where written) CycloneDX SBOM of two builds a minute apart: the same apart from the manifest's build time. */
export function assertSameRecords(outA: string, outB: string): void {
  assertSameManifest(readJson(join(outA, 'image.manifest.json')), readJson(join(outB, 'image.manifest.json')), true);
  for (const sbom of readdirSync(outA).filter((n) => /\.(spdx|cdx)\.json$/.test(n))) assert.deepEqual(readJson(join(outB, sbom)), readJson(join(outA, sbom)), sbom);
}

/** The output files of `out`, by digest, without the directory output (compared by listing) and the records (compared apart from the build time). */
function outputFiles(out: string): Map<string, string> {
  return new Map([...digests(out)].filter(([k]) => !k.startsWith('image/') && !/\.(manifest|spdx|cdx)\.json$/.test(k)));
}

/** Every output file of the two builds has the same sha256; `expected` (paths below out/) are among them. The digests of the first are returned. */
export function assertSameOutputs(outA: string, outB: string, expected: readonly string[]): Map<string, string> {
  const a = outputFiles(outA);
  const b = outputFiles(outB);
  for (const name of expected) assert.ok(a.has(name) || [...a.keys()].some((k) => k.startsWith(`${name}/`)), `${name} is among the outputs: ${[...a.keys()].join(' ')}`);
  const differing = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
  assert.deepEqual(differing, [], `outputs that differ: ${differing.join(' ')}`);
  return a;
}

/** The output files a list of output formats writes (below out/), for assertSameOutputs. */
export const OUTPUT_FILES: Record<string, string> = {
  tar: 'image.tar',
  'tar.gz': 'image.tar.gz',
  'tar.xz': 'image.tar.xz',
  'tar.zst': 'image.tar.zst',
  ext4: 'image.ext4',
  erofs: 'image.erofs',
  squashfs: 'image.squashfs',
  disk: 'image.raw',
  'disk.zst': 'image.raw.zst',
  'disk.xz': 'image.raw.xz',
  qcow2: 'image.qcow2',
  'vagrant-libvirt': 'image.libvirt.box',
  partitions: 'image.partitions',
  cpio: 'image.cpio',
  'cpio.gz': 'image.cpio.gz',
  'cpio.zst': 'image.cpio.zst',
  oci: 'image.oci',
  'oci.tar': 'image.oci.tar',
};

/** How the two builds differ in what must not matter. */
export const VARIATIONS = [
  { umask: '022', env: { TZ: 'UTC', LANG: 'C.UTF-8' } },
  { umask: '002', env: { TZ: 'Pacific/Auckland', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' } },
] as const;

export interface ReproImage {
  label: string;
  toml: string;
  /** Writes what the image directory needs besides kiln.toml (a skeleton, a hook file). */
  setup?: (dir: string) => void;
}

export interface ReproBuild {
  dir: string;
  out: string;
  cache: string;
  seconds: number;
}

export interface ReproPair {
  label: string;
  first: ReproBuild;
  second: ReproBuild;
}

/** `kiln build -C dir` with `cache` as XDG_CACHE_HOME; it must succeed. */
export async function buildIn(dir: string, cache: string, opts: { env?: Record<string, string>; umask?: string; args?: string[] } = {}): Promise<ReproBuild> {
  const started = Date.now();
  const r = await kiln(['build', '-C', dir, ...(opts.args ?? [])], { env: { XDG_CACHE_HOME: cache, ...opts.env }, umask: opts.umask, timeoutMs: 30 * 60_000 });
  assert.equal(r.code, 0, `${dir}: ${r.stderr.slice(-4000)}`);
  // Each step's time is in it: where a slow matrix spends it (KILN_KEEP_TEST_TMP=1 keeps it).
  writeFileSync(join(dir, 'kiln-build.log'), r.stderr);
  return { dir, out: join(dir, 'out'), cache, seconds: (Date.now() - started) / 1000 };
}

function buildOnce(image: ReproImage, cache: string, variation: (typeof VARIATIONS)[number], env: Record<string, string>): Promise<ReproBuild> {
  const dir = imageDir(image.toml);
  image.setup?.(dir);
  return buildIn(dir, cache, { env: { ...variation.env, ...env }, umask: variation.umask });
}

/**
 * Builds every image twice: first each from a fresh cache (no checkpoints)
 * under VARIATIONS[0]; then, once `apartMs` have passed since the first
 * round started (the wall clock differs, SOURCE_DATE_EPOCH must not), each
 * again in another image directory from a warm copy of its cache under
 * VARIATIONS[1]. The durations go to stderr under `title`.
 */
export async function buildTwice(title: string, images: readonly ReproImage[], opts: { apartMs?: number; env?: Record<string, string> } = {}): Promise<ReproPair[]> {
  const started = Date.now();
  const env = opts.env ?? {};
  const firsts: ReproBuild[] = [];
  for (const image of images) firsts.push(await buildOnce(image, freshCache(), VARIATIONS[0], env));
  const wait = started + (opts.apartMs ?? 60_000) - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const pairs: ReproPair[] = [];
  for (const [i, image] of images.entries()) {
    const first = firsts[i] as ReproBuild;
    pairs.push({ label: image.label, first, second: await buildOnce(image, warmCopy(first.cache), VARIATIONS[1], env) });
  }
  const each = pairs.map((p) => `${p.label} ${p.first.seconds.toFixed(0)} s cold, ${p.second.seconds.toFixed(0)} s warm`).join('; ');
  process.stderr.write(`${title}: ${each}; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`);
  return pairs;
}

/**
 * Every output format that is reproducible and fits a Linux tree: not btrfs
 * (not reproducible upstream) nor vfat (no symlinks, no owners); and not
 * disk.xz, whose cost (xz of the whole disk, minutes on 2 cores) buys no
 * check the others lack: it is disk.zst's writer with tar.xz's compressor.
 */
export const MATRIX_FORMATS = ['directory', ...Object.keys(OUTPUT_FILES).filter((f) => f !== 'disk.xz')];

/** An image definition (its [distribution] and [packages]) with an ESP and an ext4 root, written as every one of MATRIX_FORMATS. */
export const matrixToml = (head: string): string =>
  `${head}\n[[partition]]\ntype = "esp"\nsize = "64M"\nfilesystem = "vfat"\ncontents = "/efi"\n\n[[partition]]\ntype = "root"\nfilesystem = "ext4"\nsize = "auto"\n\n[output]\nformat = ${JSON.stringify(MATRIX_FORMATS)}\n`;

/** The matrix's tests of pairs of builds of matrixToml images, one test per kind of check, each over every pair. */
export function matrixTests(pairs: () => readonly ReproPair[]): void {
  test('every output file has the same sha256 (tars, cpios, filesystems, disk and its compressed copies, qcow2, vagrant box, partitions, OCI)', () => {
    for (const p of pairs()) assertSameOutputs(p.first.out, p.second.out, MATRIX_FORMATS.filter((f) => f !== 'directory').map((f) => OUTPUT_FILES[f] as string));
  });
  test('the directory output has the same content listing (paths, types, modes, owners, times, sizes, targets, digests)', () => {
    for (const p of pairs()) assert.deepEqual(treeListing(join(p.second.out, 'image')), treeListing(join(p.first.out, 'image')), p.label);
  });
  test('manifest and SBOMs are identical apart from the build time', () => {
    for (const p of pairs()) assertSameRecords(p.first.out, p.second.out);
  });
}
