/**
 * For the disk tests: layouts generated from a seeded pseudo-random
 * generator (so a failure names a seed that reproduces it), and the
 * partitioning tools that judge kiln's tables (util-linux's sfdisk and
 * fdisk, gdisk's sgdisk), found in the sbin directories too.
 */
import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync } from 'node:fs';
import { findOnPath } from '../../src/util/path.ts';
import { planLayout, PARTITION_ATTRIBUTES, type LayoutRequest, type PartitionAttribute, type PartitionSpec, type TableKind } from '../../src/disk/index.ts';
import { skipOrFail } from './host-tools.ts';

const MiB = 1024 * 1024;
const SBIN = ['/usr/sbin', '/sbin', '/usr/local/sbin'];
const PACKAGES: Record<string, string> = { sgdisk: 'gdisk', sfdisk: 'fdisk', fdisk: 'fdisk', 'qemu-img': 'qemu-utils' };

/** A skip reason naming the packages to install, or (under KILN_TEST_STRICT) an error. */
export function diskToolsMissing(tools: string[]): string | undefined {
  const missing = tools.filter((t) => !findOnPath(t, SBIN));
  return skipOrFail(missing.length ? `${missing.join(', ')} missing: install ${[...new Set(missing.map((t) => PACKAGES[t] ?? t))].join(', ')}` : undefined);
}

/** Runs a partitioning tool and returns its standard output (UTF-8). */
/** The tool's path (in the sbin directories too), or undefined. */
export const toolPath = (name: string): string | undefined => findOnPath(name, SBIN);

export function tool(name: string, args: string[], input?: string): string {
  const path = findOnPath(name, SBIN);
  if (!path) throw new Error(`${name} is not installed`);
  return execFileSync(path, args, { input, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** mulberry32: small, seeded, good enough to pick layouts. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const int = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

/** Labels with characters outside ASCII, outside the BMP (two UTF-16 units), and the longest GPT allows. */
export const LABELS = ['root', 'EFI System', 'Über-root', 'данные', '根目录', '🚀boot', 'x'.repeat(36), 'é'.repeat(36), undefined] as const;
const GPT_TYPES = ['esp', 'xbootldr', 'bios-boot', 'root', 'usr', 'home', 'srv', 'var', 'tmp', 'swap', 'linux-generic', '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f', 'e6d6d379-f507-44c2-a23c-238f2a3df928'] as const;
const MBR_TYPES = ['esp', 'xbootldr', 'root', 'usr', 'home', 'swap', 'linux-generic', '0x0c', '0x0b', '0x06', '0x8e', '0xda'] as const;
const MACHINES = ['x86_64', 'i686', 'aarch64', 'arm', 'riscv64', 'loongarch64', 'ppc64le', 's390x', 'mips64el'] as const;
const DISK_SIZES = [8 * MiB, 64 * MiB, 300 * MiB, 1024 * MiB, 4096 * MiB, 64 * 1024 * MiB] as const;

function randomSpec(rand: () => number, table: TableKind, alignment: number): { spec: PartitionSpec; needed: number; headroom: number } {
  const spec: PartitionSpec = { type: pick(rand, table === 'gpt' ? GPT_TYPES : MBR_TYPES) };
  if (table === 'gpt') {
    const label = pick(rand, LABELS);
    if (label !== undefined) spec.label = label;
    if (rand() < 0.5) spec.attributes = PARTITION_ATTRIBUTES.filter(() => rand() < 0.3) as PartitionAttribute[];
  } else if (rand() < 0.4) spec.bootable = true;
  let needed = 0;
  let headroom = 0;
  if (rand() < 0.4) spec.size = int(rand, 1, 8 * (alignment / 512)) * 512;
  else {
    needed = int(rand, 0, 4 * MiB);
    headroom = rand() < 0.5 ? Math.ceil(needed / 5) : 0;
    if (rand() < 0.3) spec.minimum = int(rand, 1, 6) * MiB;
    if (rand() < 0.3) spec.maximum = needed + int(rand, 1, 8) * MiB + (spec.minimum ?? 0);
  }
  if (rand() < 0.4) {
    spec.grow = true;
    if (rand() < 0.5) spec.weight = int(rand, 0, 3000);
  }
  return { spec, needed, headroom };
}

/**
 * A random valid request: 1..8 partitions (1..4 on MBR), mixed types,
 * labels, attributes, some explicit offsets, fixed and growing sizes, and a
 * fixed disk size from 8 MiB to 64 GiB when the partitions fit (else auto).
 */
export function randomRequest(seed: number, table: TableKind): LayoutRequest {
  const rand = prng(seed);
  const alignment = pick(rand, [MiB, MiB, 4096, 512]);
  const count = int(rand, 1, table === 'gpt' ? 8 : 4);
  const partitions = Array.from({ length: count }, (_, i) => ({ ...randomSpec(rand, table, alignment), describe: `partition ${i + 1}` }));
  const req: LayoutRequest = { table, diskSize: 'auto', alignment, machine: pick(rand, MACHINES), seed: `seed ${seed}`, partitions, blobs: [] };
  // Explicit offsets: a few sectors past where the planner would put the partition, so that they stay valid.
  for (let i = 0; i < count; i++) {
    if (rand() >= 0.25) continue;
    const at = planLayout(req).partitions[i]!.offset + int(rand, 0, 4096) * 512;
    partitions[i]!.spec.offset = at;
  }
  const auto = planLayout(req).size;
  const wanted = pick(rand, DISK_SIZES);
  req.diskSize = Math.max(auto, wanted);
  if (table === 'mbr' && req.diskSize > 2 ** 41) req.diskSize = auto;
  return req;
}

/** The bytes of `file` in [start, start + length). */
export function readRange(file: string, start: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, start);
    return b;
  } finally {
    closeSync(fd);
  }
}
