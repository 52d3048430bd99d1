/**
 * A disk image (kiln's `disk` output, raw or qcow2) as one listing, by
 * partition: the table read natively (partition-table.ts) and given as the
 * input's header, which the report compares first; each ext2/3/4 partition
 * listed in place with debugfs (read-ext4.ts): the root partition (the one
 * with /etc) at the root, the others at their mount points from its
 * /etc/fstab (by UUID= or PARTUUID=), or at `.partitions/N` when it names
 * none. Other filesystems (vfat, squashfs, erofs, swap) are compared as a
 * whole, as one file `.partitions/N` with the digest of the partition's
 * bytes. A qcow2 image is first converted to a sparse raw file in the
 * temporary directory (qemu-img convert: rootless, the cost is that file).
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BuildError } from '../util/errors.ts';
import { describeTable, readPartitionTable, type TablePartition } from './partition-table.ts';
import { isErofs, listErofsInput } from './read-erofs.ts';
import { isExt, listExtInput } from './read-ext4.ts';
import { isSquashfs, listSquashfsInput } from './read-squashfs.ts';
import { isFatBootSector, isVfat, listVfatInput, vfatUuid } from './read-vfat.ts';
import { DatabaseCopy } from './package-database.ts';
import { readHead } from './read-tar.ts';
import type { DiffEntry, InputReader, ListedInput, Listing } from './types.ts';

const isQcow2 = (head: Buffer) => head.length >= 4 && head.readUInt32BE(0) === 0x514649fb;

/** A raw disk: a GPT, or an MBR with partitions that is not a FAT boot sector. */
async function isRawDisk(file: string, head: Buffer): Promise<boolean> {
  if (head.length < 512 || head.readUInt16LE(510) !== 0xaa55) return false;
  if (isFatBootSector(head)) return false;
  return ((await readPartitionTable(file))?.partitions.length ?? 0) > 0;
}

/** The 16-byte filesystem UUID at `at` bytes into the partition, as fstab writes it. */
async function uuidAt(file: string, offset: number, at: number): Promise<string> {
  const fd = await open(file, 'r');
  try {
    const b = Buffer.alloc(16);
    await fd.read(b, 0, 16, offset + at);
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  } finally {
    await fd.close();
  }
}

/** A filesystem a partition may hold: recognised by its content, listed in place, and the UUID= fstab may name it by. */
interface PartitionReader {
  name: string;
  is(file: string, offset: number): Promise<boolean>;
  list(file: string, offset: number): Promise<ListedInput>;
  uuid?(file: string, offset: number): Promise<string>;
}

/** Tried in order; the magic numbers sit at different places (ext and erofs at 1024 on, squashfs and FAT at 0), so none mistakes another. */
const PARTITION_READERS: readonly PartitionReader[] = [
  { name: 'ext', is: isExt, list: listExtInput, uuid: (f, o) => uuidAt(f, o, 1024 + 104) },
  { name: 'erofs', is: isErofs, list: listErofsInput, uuid: (f, o) => uuidAt(f, o, 1024 + 48) },
  { name: 'squashfs', is: isSquashfs, list: listSquashfsInput },
  { name: 'vfat', is: isVfat, list: listVfatInput, uuid: vfatUuid },
];

async function partitionReader(file: string, offset: number): Promise<PartitionReader | undefined> {
  for (const r of PARTITION_READERS) if (await r.is(file, offset)) return r;
  return undefined;
}

async function hashRange(file: string, offset: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size > 0) for await (const chunk of createReadStream(file, { start: offset, end: offset + size - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Mount points by the ids fstab names them with (UUID=..., PARTUUID=..., lower-case). */
function fstabMounts(text: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [spec, mount] = line.trim().split(/\s+/);
    if (!spec || !mount || spec.startsWith('#') || !mount.startsWith('/')) continue;
    mounts.set(spec.toLowerCase(), mount.replace(/^\/+/, ''));
  }
  return mounts;
}

async function listRawDisk(file: string, cleanup: () => Promise<void>): Promise<ListedInput> {
  const table = await readPartitionTable(file);
  if (!table) throw new BuildError(`${file}: no partition table`);
  const parts: { p: TablePartition; input?: ListedInput; uuid?: string; kind?: string }[] = [];
  try {
    for (const p of table.partitions) {
      const reader = await partitionReader(file, p.offset);
      if (reader) parts.push({ p, input: await reader.list(file, p.offset), uuid: await reader.uuid?.(file, p.offset), kind: reader.name });
      else parts.push({ p });
    }
  } catch (err) {
    for (const x of parts) await x.input?.dispose();
    await cleanup();
    throw err;
  }
  const root = parts.find((x) => x.input?.listing.get('etc')?.type === 'dir');
  const fstab = root?.input ? (await root.input.readFiles(new Set(['etc/fstab']), 1 << 20)).get('etc/fstab') : undefined;
  const mounts = fstabMounts(fstab?.toString('utf8') ?? '');
  const noDatabase = root ? undefined : new DatabaseCopy();
  const listing: Listing = new Map(root?.input?.listing ?? []);
  const placed = new Map<string, { input: ListedInput; prefix: string }>();
  if (root?.input) placed.set('', { input: root.input, prefix: '' });
  for (const x of parts) {
    if (x === root) continue;
    const mount = mounts.get(`partuuid=${x.p.uuid.toLowerCase()}`) ?? (x.uuid ? mounts.get(`uuid=${x.uuid}`) : undefined);
    if (x.input) {
      const prefix = mount || `.partitions/${x.p.number}`;
      for (const [path, e] of x.input.listing) {
        const at = path === '.' ? prefix : `${prefix}/${path}`;
        listing.set(at, { ...e, path: at });
      }
      placed.set(prefix, { input: x.input, prefix });
    } else {
      const path = `.partitions/${x.p.number}`;
      const entry: DiffEntry = { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: x.p.size, sha256: await hashRange(file, x.p.offset, x.p.size), xattrs: '' };
      listing.set(path, entry);
    }
  }
  return {
    listing,
    // A filesystem's own id is in no file (fstab may name it): the header carries it.
    header: [...describeTable(table), ...parts.filter((x) => x.kind).map((x) => `partition ${x.p.number} filesystem: ${x.kind}${x.uuid ? ` UUID ${x.uuid}` : ''}`)],
    databaseRoot: root?.input?.databaseRoot ?? (noDatabase as DatabaseCopy).root,
    readFiles: async (wanted, maxBytes) => {
      const out = new Map<string, Buffer>();
      for (const { input, prefix } of placed.values()) {
        const mine = new Map([...wanted].filter((w) => prefix === '' || w.startsWith(`${prefix}/`)).map((w) => [prefix === '' ? w : w.slice(prefix.length + 1), w]));
        for (const [inner, data] of await input.readFiles(new Set(mine.keys()), maxBytes)) out.set(mine.get(inner) as string, data);
      }
      return out;
    },
    dispose: async () => {
      for (const x of parts) await x.input?.dispose();
      await noDatabase?.dispose();
      await cleanup();
    },
  };
}


export const diskReader: InputReader = {
  name: 'disk image (raw or qcow2; ext, erofs, squashfs and vfat partitions by file)',
  recognises: async (path, head, isDirectory) => !isDirectory && (isQcow2(head) || (await isRawDisk(path, head))),
  async list(file: string): Promise<ListedInput> {
    if (!isQcow2(await readHead(file))) return listRawDisk(file, async () => {});
    const dir = mkdtempSync(join(tmpdir(), 'kiln-diff-qcow2-'));
    const raw = join(dir, 'disk.raw');
    const r = spawnSync('qemu-img', ['convert', '-O', 'raw', file, raw], { encoding: 'utf8' });
    if (r.status !== 0) {
      await rm(dir, { recursive: true, force: true });
      throw new BuildError(`qemu-img convert ${file}: ${(r.stderr || r.error?.message || '').trim()}`, 'install qemu-utils');
    }
    return listRawDisk(raw, () => rm(dir, { recursive: true, force: true }));
  },
};
