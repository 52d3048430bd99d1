/**
 * The partition plan: from what the user declared and what each partition's
 * content needs, every partition's type, GUID, offset and size, and the
 * disk's size. Pure: computed once, printed by --dry-run, then carried out.
 *
 * The rules, in order: each partition's own size (a fixed size, or auto:
 * needed + headroom, at least `minimum`, rounded up to the alignment, at
 * most `maximum`); offsets (the first at the alignment past the table, each
 * next after the previous aligned, an explicit `offset` exact); then, on a
 * disk of fixed size, the partitions that grow share what is left by
 * weight, each in the space before the next partition with an explicit
 * offset (or the disk's end); last the disk's size and the blobs' places.
 */
import { UserError } from '../util/errors.ts';
import { GPT_BACKUP_SECTORS, GPT_FIRST_USABLE_LBA, GPT_NAME_UNITS } from './gpt.ts';
import { checkBlobs } from './layout-blobs.ts';
import { shareUnits } from './layout-grow.ts';
import { MBR_MAX_BYTES, MBR_MAX_PARTITIONS } from './mbr.ts';
import { attributeBits, mbrType, typeGuid } from './partition-types.ts';
import { diskGuid, mbrSignature, partitionGuid } from './seed.ts';
import { alignDown, alignUp, formatSize } from './sizes.ts';
import type { DiskLayout, LayoutRequest, PlannedPartition, TableKind } from './types.ts';

const SECTOR = 512;
const DEFAULT_WEIGHT = 1000;

interface TableFacts {
  name: string;
  /** "a GPT", "an MBR". */
  article: string;
  /** Where the first partition may start at the earliest. */
  headEnd: number;
  /** Bytes the table takes at the disk's end. */
  tail: number;
  maxPartitions: number;
  maxBytes: number;
}

const TABLES: Record<TableKind, TableFacts> = {
  gpt: { name: 'GPT', article: 'a GPT', headEnd: GPT_FIRST_USABLE_LBA * SECTOR, tail: GPT_BACKUP_SECTORS * SECTOR, maxPartitions: 128, maxBytes: Number.MAX_SAFE_INTEGER },
  mbr: { name: 'MBR', article: 'an MBR', headEnd: SECTOR, tail: 0, maxPartitions: MBR_MAX_PARTITIONS, maxBytes: MBR_MAX_BYTES },
};

type Entry = LayoutRequest['partitions'][number];

interface Draft {
  entry: Entry;
  size: number;
  offset: number;
}

const sizeAndBytes = (n: number): string => `${formatSize(n)} (${n} bytes)`;

function checkWholeSectors(what: string, n: number | undefined, hint: string): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0 || n % SECTOR)) throw new UserError(`${what} is ${n} bytes, not a whole number of ${SECTOR}-byte sectors`, hint);
}

/** A partition's own size before it grows. */
function ownSize(entry: Entry, alignment: number): number {
  const { spec, needed, headroom, describe } = entry;
  const size = spec.size ?? 'auto';
  checkWholeSectors(`${describe}'s size`, size === 'auto' ? undefined : size, 'give the size in K, M or G');
  if (size !== 'auto') {
    if (size === 0) throw new UserError(`${describe} has the size 0`, 'give it a size such as 256M, or size = "auto"');
    if (size < needed) throw new UserError(`${describe} needs at least ${formatSize(needed)} for its content but its size is ${formatSize(size)}`, `raise its size to at least ${formatSize(alignUp(needed, alignment))}, or use size = "auto"`);
    return size;
  }
  const { minimum = 0, maximum } = spec;
  if (maximum !== undefined && minimum > maximum) throw new UserError(`${describe} has a minimum (${formatSize(minimum)}) above its maximum (${formatSize(maximum)})`, 'lower its minimum or raise its maximum');
  const cap = maximum === undefined ? Infinity : alignDown(maximum, SECTOR);
  if (needed > cap) throw new UserError(`${describe} needs at least ${formatSize(needed)} for its content but its maximum is ${formatSize(maximum!)}`, `raise its maximum to at least ${formatSize(alignUp(needed, alignment))}, or leave maximum out`);
  const wanted = alignUp(Math.max(needed + headroom, minimum, 1), alignment);
  return Math.max(Math.min(wanted, cap), alignUp(needed, SECTOR));
}

/** Sets each draft's offset from the sizes; explicit offsets are kept exact and must not go back. */
function place(drafts: Draft[], table: TableFacts, alignment: number): void {
  let cursor = table.headEnd;
  let previous: Draft | undefined;
  for (const d of drafts) {
    const explicit = d.entry.spec.offset;
    if (explicit === undefined) d.offset = alignUp(Math.max(cursor, alignment), alignment);
    else {
      checkWholeSectors(`${d.entry.describe}'s offset`, explicit, `give an offset that is a multiple of ${SECTOR}, such as 1M`);
      if (explicit < cursor) {
        const before = previous ? `before the end of ${previous.entry.describe} at ${sizeAndBytes(cursor)}` : `inside the ${table.name} (which ends at ${sizeAndBytes(cursor)})`;
        throw new UserError(`${d.entry.describe} starts at ${sizeAndBytes(explicit)}, ${before}`, `raise its offset to at least ${cursor}, or leave offset out`);
      }
      d.offset = explicit;
    }
    cursor = d.offset + d.size;
    previous = d;
  }
}

/** The partitions that grow share the room before the next fixed offset (or the disk's end at `limit`). */
function grow(drafts: Draft[], table: TableFacts, alignment: number, limit: number): void {
  let start = 0;
  while (start < drafts.length) {
    let end = start + 1;
    while (end < drafts.length && drafts[end]!.entry.spec.offset === undefined) end++;
    const segment = drafts.slice(start, end);
    const segmentLimit = end < drafts.length ? drafts[end]!.offset : limit;
    const last = segment[segment.length - 1]!;
    const units = Math.floor((segmentLimit - (last.offset + last.size)) / alignment);
    const growers = segment.filter((d) => d.entry.spec.grow);
    if (units > 0 && growers.length) {
      const shares = shareUnits(
        units,
        growers.map((d) => ({
          weight: d.entry.spec.weight ?? DEFAULT_WEIGHT,
          cap: d.entry.spec.maximum === undefined ? Infinity : Math.max(0, Math.floor((d.entry.spec.maximum - d.size) / alignment)),
        })),
      );
      growers.forEach((d, i) => (d.size += shares[i]! * alignment));
      place(drafts, table, alignment);
    }
    start = end;
  }
}

/** Refuses what is wrong with a partition whatever its size: its type first, then what its table cannot hold. */
function checkSpec(entry: Entry, table: TableKind, machine: string): void {
  const { spec, describe } = entry;
  if (table === 'mbr') mbrType(spec.type, describe);
  else typeGuid(spec.type, machine, describe);
  if (!Number.isSafeInteger(entry.needed) || entry.needed < 0 || !Number.isSafeInteger(entry.headroom) || entry.headroom < 0) throw new Error(`${describe}: needed and headroom must be byte counts`);
  if (spec.weight !== undefined && (!Number.isSafeInteger(spec.weight) || spec.weight < 0)) throw new UserError(`${describe} has the weight ${spec.weight}`, 'give a whole number, 0 or more (default 1000)');
  if (table === 'mbr') {
    if (spec.uuid) throw new UserError(`${describe} sets uuid, but MBR partitions have no GUID (their PARTUUID is the disk signature and the number)`, 'leave uuid out, or set disk.table = "gpt"');
    if (spec.attributes?.length) {
      throw new UserError(`${describe} sets attributes (${spec.attributes.join(', ')}), which only GPT has`, 'leave attributes out (for the boot flag use bootable = true), or set disk.table = "gpt"');
    }
  } else if (spec.label !== undefined && Buffer.byteLength(spec.label, 'utf16le') > GPT_NAME_UNITS * 2) {
    throw new UserError(`${describe} has a label of ${Buffer.byteLength(spec.label, 'utf16le') / 2} UTF-16 code units; GPT allows ${GPT_NAME_UNITS}`, 'shorten the label');
  }
}

function diskSize(req: LayoutRequest, table: TableFacts, drafts: Draft[]): number {
  const ends = [...drafts.map((d) => d.offset + d.size), ...req.blobs.map((b) => b.offset + b.size)];
  const needed = Math.max(table.headEnd, ...ends) + table.tail;
  const auto = alignUp(needed, req.alignment);
  if (req.diskSize === 'auto') return auto;
  checkWholeSectors('disk.size', req.diskSize, 'give disk.size in K, M or G, or "auto"');
  const lastPartitionEnd = Math.max(table.headEnd, ...drafts.map((d) => d.offset + d.size)) + table.tail;
  if (req.diskSize < lastPartitionEnd) {
    throw new UserError(`disk.size is ${formatSize(req.diskSize)}, but the partitions and the ${table.name} need ${sizeAndBytes(lastPartitionEnd)}`, `raise disk.size to at least ${formatSize(alignUp(lastPartitionEnd, req.alignment))}, or set it to "auto"`);
  }
  return req.diskSize;
}

function planned(req: LayoutRequest, d: Draft, number: number, signature: number): PlannedPartition {
  const { spec, describe } = d.entry;
  const base = { number, spec, offset: d.offset, size: d.size };
  if (req.table === 'mbr') {
    return { ...base, mbrType: mbrType(spec.type, describe), partUuid: `${signature.toString(16).padStart(8, '0')}-${number.toString(16).padStart(2, '0')}`, attributes: 0n };
  }
  const uuid = (spec.uuid ?? partitionGuid(req.seed, number)).toLowerCase();
  return { ...base, typeGuid: typeGuid(spec.type, req.machine, describe), uuid, partUuid: uuid, label: spec.label, attributes: attributeBits(spec.attributes) };
}

/** The plan for `req`; every mistake is a UserError naming the partition or blob. */
export function planLayout(req: LayoutRequest): DiskLayout {
  const table = TABLES[req.table];
  if (!Number.isSafeInteger(req.alignment) || req.alignment <= 0 || req.alignment % SECTOR) {
    throw new UserError(`disk.alignment is ${req.alignment} bytes, not a whole number of ${SECTOR}-byte sectors`, 'give disk.alignment as a size such as 1M or 4K');
  }
  if (req.partitions.length > table.maxPartitions) {
    throw new UserError(`the layout has ${req.partitions.length} partitions, but ${table.article} holds at most ${table.maxPartitions}`, req.table === 'mbr' ? 'leave some out, or set disk.table = "gpt"' : 'leave some out');
  }
  req.partitions.forEach((entry) => checkSpec(entry, req.table, req.machine));
  const drafts: Draft[] = req.partitions.map((entry) => ({ entry, size: ownSize(entry, req.alignment), offset: 0 }));
  place(drafts, table, req.alignment);
  const size = diskSize(req, table, drafts);
  if (req.diskSize !== 'auto') grow(drafts, table, req.alignment, size - table.tail);
  if (size > table.maxBytes) {
    throw new UserError(`the disk would be ${formatSize(size)}, but an MBR addresses at most ${formatSize(table.maxBytes)}`, 'set disk.table = "gpt", or make the partitions smaller');
  }
  checkBlobs(
    req.blobs,
    req.table,
    size,
    drafts.map((d) => ({ start: d.offset, end: d.offset + d.size, what: d.entry.describe })),
  );
  const signature = req.table === 'mbr' ? mbrSignature(req.seed) : 0;
  const partitions = drafts.map((d, i) => planned(req, d, i + 1, signature));
  const guids = new Set<string>();
  for (const p of partitions) {
    if (p.uuid && guids.has(p.uuid)) throw new UserError(`${req.partitions[p.number - 1]!.describe} has the uuid ${p.uuid}, which another partition has too`, 'give each partition its own uuid, or leave uuid out');
    if (p.uuid) guids.add(p.uuid);
  }
  return {
    table: req.table,
    size,
    sectorSize: SECTOR,
    ...(req.table === 'gpt' ? { diskGuid: diskGuid(req.seed) } : {}),
    diskSignature: signature,
    partitions,
    blobs: req.blobs,
  };
}
