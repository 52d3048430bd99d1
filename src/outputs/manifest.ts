/**
 * The record of what went into an image, written beside its outputs as
 * NAME.manifest.json: kiln's version, the stage key, the merged configuration
 * (without secret or private values), every package, the outputs' checksums,
 * build time, SOURCE_DATE_EPOCH and where it came from, the mirrors, and
 * what the hooks added.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { qemuImgExtents, sparseSha256 } from '../disk/index.ts';
import type { InstalledPackage, PlannedPackage } from '../formats/types.ts';
import { findOnPath } from '../util/path.ts';
import { BuildError } from '../util/errors.ts';
import { outputFile } from './paths.ts';

export const MANIFEST_VERSION = 1;

export interface ManifestPackage extends InstalledPackage {
  /** From the plan; absent for packages a hook installed. */
  downloadSize?: number;
  sha256?: string;
  url?: string;
  reason?: string;
}

export interface ManifestOutput {
  file: string;
  format: string;
  /** Bytes and sha256 of a file output; null for a directory. */
  size: number | null;
  sha256: string | null;
  /** What the writer says about it (a disk's partitions, a filesystem's UUID, an OCI image's digest). */
  details?: Record<string, unknown>;
}

export interface Manifest {
  manifestVersion: number;
  kiln: { version: string };
  /** The output stage's key: equal keys, equal images. */
  key: string;
  image: { name: string; distribution: string; release: string; architecture: string; board: string | null; profiles: string[] };
  config: Record<string, unknown>;
  sourceDateEpoch: number;
  /** Where sourceDateEpoch came from: `$SOURCE_DATE_EPOCH`, a file:line, or `release: ... (default)`. */
  sourceDateEpochFrom: string;
  /** The mirrors the packages came from, resolved (a Debian default comes from the build host's apt sources). */
  mirrors: string[];
  /** The build installed kiln.lock's set: its entry and the digest of the settings it was locked with; null: resolved afresh. */
  lock: { file: string; id: string; configDigest: string; locked: string } | null;
  built: string;
  packages: ManifestPackage[];
  outputs: ManifestOutput[];
  /** The SPDX 2.3 SBOM's file name. */
  sbom: string;
  /** The CycloneDX 1.6 SBOM's file name (the same inventory). */
  cyclonedx?: string;
  [fromHooks: string]: unknown;
}

export interface ManifestFacts {
  kilnVersion: string;
  key: string;
  image: Manifest['image'];
  config: Record<string, unknown>;
  sourceDateEpoch: number;
  sourceDateEpochFrom: string;
  mirrors: string[];
  lock?: Manifest['lock'];
  installed: InstalledPackage[];
  /** Only what every format's plan says about a package (its format's own data is not needed here). */
  planned: Omit<PlannedPackage, 'extra'>[];
  fragments: Record<string, unknown>;
}

export function manifestPath(directory: string, name: string): string {
  return outputFile(directory, `${name}.manifest.json`);
}

export function sbomPath(directory: string, name: string): string {
  return outputFile(directory, `${name}.spdx.json`);
}

export function cyclonedxPath(directory: string, name: string): string {
  return outputFile(directory, `${name}.cdx.json`);
}

export async function fileDigest(path: string): Promise<{ size: number; sha256: string }> {
  const st = statSync(path);
  // A sparse file (a disk or partition image) is hashed without reading its holes, when qemu-img can say where they are.
  const qemuImg = st.blocks * 512 < st.size / 2 ? findOnPath('qemu-img') : undefined;
  const extents = qemuImg ? await qemuImgExtents(qemuImg)(path) : undefined;
  if (extents) return { size: st.size, sha256: await sparseSha256(path, st.size, extents) };
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return { size: st.size, sha256: hash.digest('hex') };
}

export function buildManifest(facts: ManifestFacts, outputs: ManifestOutput[], sbomFile: string, cyclonedxFile?: string): Manifest {
  const planned = new Map(facts.planned.map((p) => [p.name, p]));
  const packages = facts.installed.map((p): ManifestPackage => {
    const plan = planned.get(p.name);
    return plan && plan.version === p.version ? { ...p, downloadSize: plan.size, sha256: plan.sha256, url: plan.urls[0], reason: plan.reason } : { ...p };
  });
  const manifest: Manifest = {
    manifestVersion: MANIFEST_VERSION,
    kiln: { version: facts.kilnVersion },
    key: facts.key,
    image: facts.image,
    config: facts.config,
    sourceDateEpoch: facts.sourceDateEpoch,
    sourceDateEpochFrom: facts.sourceDateEpochFrom,
    mirrors: facts.mirrors,
    lock: facts.lock ?? null,
    built: new Date().toISOString(),
    packages,
    outputs,
    sbom: sbomFile,
    ...(cyclonedxFile ? { cyclonedx: cyclonedxFile } : {}),
  };
  // Hooks' fragments, in file name order: their keys are added (objects merged); kiln's own keys are refused.
  const kilnKeys = new Set(Object.keys(manifest));
  for (const [file, fragment] of Object.entries(facts.fragments).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (typeof fragment !== 'object' || fragment === null || Array.isArray(fragment)) throw new BuildError(`manifest fragment ${file}: expected a JSON object`);
    for (const [key, value] of Object.entries(fragment)) {
      if (kilnKeys.has(key)) throw new BuildError(`manifest fragment ${file} sets "${key}", which kiln writes itself`, 'use a key of your own, e.g. your project name');
      manifest[key] = key in manifest ? mergeJson(manifest[key], value) : value;
    }
  }
  return manifest;
}

/** Objects merge key by key (later wins); anything else is replaced. */
function mergeJson(a: unknown, b: unknown): unknown {
  if (typeof a === 'object' && a !== null && !Array.isArray(a) && typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeJson(out[k], v) : v;
    return out;
  }
  return b;
}

/**
 * Whether the outputs in `directory` were made under `key` and are still as
 * written (each file output the recorded size; a directory present).
 */
export function outputsUpToDate(directory: string, name: string, outputs: string[], key: string): boolean {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(directory, name), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (manifest.key !== key || manifest.manifestVersion !== MANIFEST_VERSION) return false;
  for (const sbom of [manifest.sbom, manifest.cyclonedx ?? `${name}.cdx.json`]) if (!statSync(join(directory, sbom), { throwIfNoEntry: false })) return false;
  return outputs.every((path) => {
    const recorded = manifest.outputs.find((o) => o.file === basename(path));
    const st = statSync(path, { throwIfNoEntry: false });
    if (!recorded || !st) return false;
    return recorded.size === null ? st.isDirectory() : st.isFile() && st.size === recorded.size;
  });
}
