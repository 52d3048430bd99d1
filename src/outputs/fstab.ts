/**
 * /etc/fstab for the partitions that have a mount point, written into the
 * tree at the start of the output stage, before any writer runs, so that a
 * tar or directory output agrees with the disk. The identifiers are known
 * before anything is made: filesystem UUIDs and partition GUIDs derive from
 * the seed (src/disk/seed.ts), and each filesystem maker says how fstab
 * names its UUID (vfat's volume id is XXXX-XXXX).
 *
 * Fields as Debian's installer writes them: the root filesystem passes 1,
 * the EFI (vfat) partition too (partman-efi: "umask=0077 0 1"), other
 * filesystems that fsck checks 2, read-only images (erofs, squashfs) and
 * btrfs (whose fsck is a no-op) 0; swap is "none swap sw 0 0".
 */
import { utimesSync } from 'node:fs';
import type { Config } from '../config/index.ts';
import { filesystemUuid, mbrSignature, partitionGuid } from '../disk/seed.ts';
import type { TableKind } from '../disk/types.ts';
import { Tree } from '../tree/index.ts';
import { FILESYSTEMS } from './filesystems/index.ts';
import { diskPartitions, holdsFiles, type DiskPartition } from './partition-plan.ts';

export interface FstabEntry {
  /** UUID=..., PARTUUID=... */
  spec: string;
  /** The mount point, or "none" for swap. */
  file: string;
  type: string;
  options: string;
  pass: number;
}

/** What the kernel and blkid call the partition's PARTUUID: its GPT GUID, or the MBR signature and its number. */
export function partUuidOf(table: TableKind, seed: string, p: Pick<DiskPartition, 'number' | 'spec'>): string {
  if (table === 'gpt') return (p.spec.uuid ?? partitionGuid(seed, p.number)).toLowerCase();
  return `${mbrSignature(seed).toString(16).padStart(8, '0')}-${p.number.toString(16).padStart(2, '0')}`;
}

/** What fstab's UUID= says for partition `p`'s filesystem (undefined: none, or a prebuilt image). */
export function filesystemIdOf(seed: string, p: Pick<DiskPartition, 'number' | 'filesystem' | 'image'>): string | undefined {
  if (p.filesystem === 'none' || p.image || FILESYSTEMS[p.filesystem].noUuid) return undefined;
  return FILESYSTEMS[p.filesystem].fstabId(filesystemUuid(seed, p.number));
}

/** The root filesystem's identifiers from config and seed alone (for root= on a kernel command line); undefined: no partition is mounted at /. */
export function rootIdentifiers(config: Config): { partition: number; filesystemUuid: string | undefined; partUuid: string; filesystem: string } | undefined {
  const root = diskPartitions(config, '/').find((p) => p.mount === '/');
  if (!root) return undefined;
  const seed = config['build.seed'];
  return { partition: root.number, filesystemUuid: filesystemIdOf(seed, root), partUuid: partUuidOf(config['disk.table'], seed, root), filesystem: root.filesystem };
}

const PASS: Record<string, number> = { ext4: 2, vfat: 1, btrfs: 0, erofs: 0, squashfs: 0 };

/** One entry per partition with a mount point (root first, then by depth, then by path), then swap. */
export function fstabEntries(config: Config): FstabEntry[] {
  const mode = config['disk.fstab'];
  if (mode === 'none') return [];
  const seed = config['build.seed'];
  const table = config['disk.table'];
  const parts = diskPartitions(config, '/');
  // A filesystem without a UUID of its own (squashfs) is named by its partition.
  const spec = (p: DiskPartition) => {
    const id = mode === 'uuid' ? filesystemIdOf(seed, p) : undefined;
    return id ? `UUID=${id}` : `PARTUUID=${partUuidOf(table, seed, p)}`;
  };
  const depth = (m: string) => (m === '/' ? 0 : m.split('/').length - 1);
  const mounted = parts
    .filter((p) => p.mount !== undefined && holdsFiles(p.filesystem))
    .sort((a, b) => depth(a.mount!) - depth(b.mount!) || (a.mount! < b.mount! ? -1 : a.mount! > b.mount! ? 1 : 0));
  const entries: FstabEntry[] = mounted.map((p) => ({
    spec: spec(p),
    file: p.mount!,
    type: p.filesystem,
    options: p.mountOptions ?? (p.filesystem === 'vfat' ? 'umask=0077' : 'defaults'),
    pass: p.mount === '/' ? (PASS[p.filesystem] === 0 ? 0 : 1) : PASS[p.filesystem]!,
  }));
  for (const p of parts.filter((p) => p.filesystem === 'swap' && !p.image)) entries.push({ spec: spec(p), file: 'none', type: 'swap', options: p.mountOptions ?? 'sw', pass: 0 });
  return entries;
}

/** The file's text: a header line, then the entries in aligned columns. */
export function fstabText(entries: readonly FstabEntry[]): string {
  const rows = [['# <file system>', '<mount point>', '<type>', '<options>', '<dump>', '<pass>'], ...entries.map((e) => [e.spec, e.file, e.type, e.options, '0', String(e.pass)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(' '));
  return `# /etc/fstab: written by kiln from the image's [[partition]] tables (disk.fstab = "uuid" or "partuuid")\n${lines.join('\n')}\n`;
}

/** Writes /etc/fstab into the tree when there are partitions and disk.fstab is not "none"; returns whether it did. */
export function writeFstab(root: string, config: Config, sourceDateEpoch: number): boolean {
  if (config['disk.partitions'].length === 0 || config['disk.fstab'] === 'none') return false;
  const tree = new Tree(root);
  const etc = tree.lstat('/etc');
  tree.mkdir('/etc');
  tree.write('/etc/fstab', fstabText(fstabEntries(config)), { mode: 0o644, uid: 0, gid: 0, mtime: sourceDateEpoch });
  if (etc?.isDirectory()) restoreTimes(tree, '/etc', etc);
  return true;
}

/** Puts a directory's times back after a write in it (the tree's times were clamped before the output stage). */
function restoreTimes(tree: Tree, path: string, before: { atime: Date; mtime: Date }): void {
  const abs = tree.hostPath(path);
  // utimes follows a final symlink; hostPath has already resolved it inside the root.
  utimesSync(abs, before.atime, before.mtime);
}
