/**
 * From the [disk], [[partition]] and [[blob]] settings to what the disk
 * outputs carry out: each partition with its defaults filled in by type
 * (filesystem, the part of the tree it holds, where it is mounted), checked
 * as a whole before any stage runs. Pure: no tree, no namespace; the sizes
 * the content needs are measured later (partition-images.ts).
 */
import { resolve } from 'node:path';
import type { Config } from '../config/index.ts';
import { PARTITION_TYPE_NAMES, type PartitionSpec, type PartitionTypeName, type TableKind } from '../disk/types.ts';
import { FILESYSTEM_NAMES, type FilesystemName } from './filesystems/types.ts';
import { UserError } from '../util/errors.ts';

export type PartitionFilesystem = FilesystemName | 'none';
type Headroom = `${number}%` | number;

/** One [[partition]] with its defaults applied. */
export interface DiskPartition {
  /** 1-based, in the order declared (the table's order). */
  number: number;
  /** What the table writer takes (type, label, sizes, attributes, ...). */
  spec: PartitionSpec;
  filesystem: PartitionFilesystem;
  /** The directory of the tree the filesystem holds (its root); undefined: an empty or raw partition. */
  contents?: string;
  /** Where /etc/fstab mounts it; undefined: not mounted (swap has a line without one). */
  mount?: string;
  mountOptions?: string;
  headroom: Headroom;
  /** A prebuilt partition image (absolute), copied in as it is. */
  image?: string;
  /** The filesystem's label: filesystem-label, else the partition's label. */
  filesystemLabel?: string;
  /** For messages: "partition 2 (root, ext4)". */
  describe: string;
}

export interface DiskBlob {
  /** As the config names it (relative to the image directory), for messages and layout.json. */
  name: string;
  /** Where it is on this host. */
  file: string;
  offset: number;
}

export interface DiskConfig {
  table: TableKind;
  size: number | 'auto';
  alignment: number;
  seed: string;
  fstab: 'uuid' | 'partuuid' | 'none';
  partitions: DiskPartition[];
  blobs: DiskBlob[];
}

/** Where a partition of a named type lives in the tree, and the filesystem it gets, when the user says nothing. */
const TYPE_DEFAULTS: Record<PartitionTypeName, { place?: string; filesystem: PartitionFilesystem }> = {
  esp: { place: '/efi', filesystem: 'vfat' },
  xbootldr: { place: '/boot', filesystem: 'vfat' },
  'bios-boot': { filesystem: 'none' },
  root: { place: '/', filesystem: 'ext4' },
  usr: { place: '/usr', filesystem: 'ext4' },
  home: { place: '/home', filesystem: 'ext4' },
  srv: { place: '/srv', filesystem: 'ext4' },
  var: { place: '/var', filesystem: 'ext4' },
  tmp: { place: '/tmp', filesystem: 'ext4' },
  swap: { filesystem: 'swap' },
  'linux-generic': { filesystem: 'ext4' },
};

/** Types given as a GUID or an MBR byte that still say which filesystem they hold. */
const RAW_TYPE_FILESYSTEMS: Record<string, PartitionFilesystem> = {
  'c12a7328-f81f-11d2-ba4b-00a0c93ec93b': 'vfat',
  '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f': 'swap',
  '0x01': 'vfat',
  '0x04': 'vfat',
  '0x06': 'vfat',
  '0x0b': 'vfat',
  '0x0c': 'vfat',
  '0x0e': 'vfat',
  '0xef': 'vfat',
  '0x82': 'swap',
};

const isTypeName = (t: string): t is PartitionTypeName => (PARTITION_TYPE_NAMES as readonly string[]).includes(t);

/** A filesystem that holds directories (so it can have contents and be mounted). */
export const holdsFiles = (fs: PartitionFilesystem): fs is Exclude<FilesystemName, 'swap'> => fs !== 'none' && fs !== 'swap';

type PartitionRecord = Config['disk.partitions'][number];

/** The partitions with their defaults, without the checks (for --dry-run and fstab, which run after them). */
export function diskPartitions(config: Config, imageDir: string): DiskPartition[] {
  return config['disk.partitions'].map((p, i) => withDefaults(p, i + 1, imageDir, config['disk.headroom']));
}

function withDefaults(p: PartitionRecord, number: number, imageDir: string, headroom: Headroom): DiskPartition {
  const byName = isTypeName(p.type) ? TYPE_DEFAULTS[p.type] : undefined;
  const filesystem: PartitionFilesystem = p.filesystem ?? (p.image !== undefined ? 'none' : (byName?.filesystem ?? RAW_TYPE_FILESYSTEMS[p.type] ?? 'ext4'));
  const contents = holdsFiles(filesystem) && p.image === undefined ? (p.contents ?? p.mount ?? byName?.place) : p.contents;
  const mount = p.mount ?? (holdsFiles(filesystem) ? contents : undefined);
  const spec: PartitionSpec = {
    type: p.type,
    ...(p.label !== undefined ? { label: p.label } : {}),
    size: p.size ?? 'auto',
    ...(p.minimum !== undefined ? { minimum: p.minimum } : {}),
    ...(p.maximum !== undefined ? { maximum: p.maximum } : {}),
    ...(p.grow !== undefined ? { grow: p.grow } : {}),
    ...(p.weight !== undefined ? { weight: p.weight } : {}),
    ...(p.offset !== undefined ? { offset: p.offset } : {}),
    ...(p.attributes !== undefined ? { attributes: p.attributes } : {}),
    ...(p.bootable !== undefined ? { bootable: p.bootable } : {}),
    ...(p.uuid !== undefined ? { uuid: p.uuid } : {}),
  };
  return {
    number,
    spec,
    filesystem,
    ...(contents !== undefined ? { contents } : {}),
    ...(mount !== undefined ? { mount } : {}),
    ...(p['mount-options'] !== undefined ? { mountOptions: p['mount-options'] } : {}),
    headroom: p.headroom ?? headroom,
    ...(p.image !== undefined ? { image: resolve(imageDir, p.image) } : {}),
    ...(p['filesystem-label'] ?? p.label ? { filesystemLabel: p['filesystem-label'] ?? p.label } : {}),
    describe: `partition ${number} (${p.type}${filesystem !== 'none' ? `, ${filesystem}` : ''})`,
  };
}

/** The disk as configured, every rule checked: a UserError (exit 2) names the first problem. */
export function diskConfig(config: Config, imageDir: string): DiskConfig {
  const partitions = diskPartitions(config, imageDir);
  for (const p of partitions) checkPartition(p, config['disk.table']);
  checkPlaces(partitions);
  return {
    table: config['disk.table'],
    size: config['disk.size'],
    alignment: config['disk.alignment'],
    seed: config['build.seed'],
    fstab: config['disk.fstab'],
    partitions,
    blobs: config['disk.blobs'].map((b) => ({ name: b.file, file: resolve(imageDir, b.file), offset: b.offset })),
  };
}

const problem = (message: string, hint?: string): UserError => new UserError(`disk.partitions: ${message}`, hint);

function checkPartition(p: DiskPartition, table: TableKind): void {
  const { filesystem } = p;
  const { type } = p.spec;
  if (table === 'mbr' && /^[0-9a-f]{8}-/.test(type)) throw problem(`${p.describe}: a GPT type GUID on an MBR disk`, 'give an MBR type byte such as 0x83, a type name, or set disk.table = "gpt"');
  if (table === 'gpt' && type.startsWith('0x')) throw problem(`${p.describe}: an MBR type byte on a GPT disk`, 'give a type name or a GPT type GUID, or set disk.table = "mbr"');
  if ((type === 'swap') !== (filesystem === 'swap') && (isTypeName(type) || filesystem !== 'swap'))
    throw problem(`${p.describe}: ${type === 'swap' ? 'a swap partition needs filesystem = "swap"' : `filesystem = "swap" needs type = "swap"`}`);
  if (type === 'esp' && filesystem !== 'vfat' && !(filesystem === 'none' && p.image)) throw problem(`${p.describe}: the EFI system partition is FAT: filesystem = "vfat"`);
  if (type === 'bios-boot' && (filesystem !== 'none' || p.contents || p.mount)) throw problem(`${p.describe}: a BIOS boot partition holds GRUB's core image, no filesystem`, 'drop filesystem, contents and mount');
  if (p.image && filesystem !== 'none') throw problem(`${p.describe}: image = ${p.image} is copied in as it is, so it takes no filesystem`, 'drop filesystem (or image)');
  if (p.image && (p.contents || p.mount)) throw problem(`${p.describe}: image = ${p.image} is copied in as it is: it has no contents from the tree and no mount point kiln knows the filesystem of`);
  if (!holdsFiles(filesystem) && p.contents) throw problem(`${p.describe}: contents = ${p.contents} needs a filesystem that holds files, not ${filesystem}`);
  if (!holdsFiles(filesystem) && p.mount) throw problem(`${p.describe}: mount = ${p.mount} needs a filesystem that holds files, not ${filesystem}`);
}

const inside = (path: string, dir: string): boolean => dir === '/' ? path !== '/' : path.startsWith(`${dir}/`);
const relativeTo = (path: string, dir: string): string => (dir === '/' ? path.slice(1) : path.slice(dir.length + 1));

/** The deepest other partition whose `key` holds `path`. */
function enclosing(parts: DiskPartition[], self: DiskPartition, key: 'contents' | 'mount', path: string): DiskPartition | undefined {
  return parts
    .filter((o) => o !== self && o[key] !== undefined && inside(path, o[key]!))
    .sort((a, b) => b[key]!.length - a[key]!.length)[0];
}

/**
 * No two partitions hold the same part of the tree or mount at the same
 * place, and nesting agrees: a partition whose contents lie inside another's
 * is mounted inside that one's mount point at the same place (where its
 * empty directory is left), and a mount point inside another partition's
 * has its directory there.
 */
function checkPlaces(parts: DiskPartition[]): void {
  for (const key of ['contents', 'mount'] as const) {
    for (const p of parts) {
      const twin = parts.find((o) => o.number < p.number && o[key] !== undefined && o[key] === p[key]);
      if (twin) throw problem(`${twin.describe} and ${p.describe} both have ${key} = ${p[key]}`, 'each part of the tree goes into one partition: give one of them other contents (and mount), or remove it');
    }
  }
  for (const p of parts) {
    if (p.contents === undefined || p.mount === undefined) continue;
    const byContents = enclosing(parts, p, 'contents', p.contents);
    const byMount = enclosing(parts, p, 'mount', p.mount);
    if (!byContents && !byMount) continue;
    const expected = byMount?.contents !== undefined && byMount.mount !== undefined ? joinPath(byMount.contents, relativeTo(p.mount, byMount.mount)) : undefined;
    if (byContents === byMount && expected === p.contents) continue;
    if (byMount && expected)
      throw problem(
        `${p.describe} is mounted at ${p.mount}, inside ${byMount.describe} (mounted at ${byMount.mount}), so its contents must be ${expected}, not ${p.contents}`,
        'a mount point is the empty directory its contents leave behind in the partition around it',
      );
    throw problem(
      `${p.describe}: its contents ${p.contents} lie inside ${byContents!.describe}'s ${byContents!.contents}, but it is mounted at ${p.mount}, outside ${byContents!.mount ?? 'any mount point of it'}`,
      'a mount point is the empty directory its contents leave behind in the partition around it',
    );
  }
}

const joinPath = (dir: string, rel: string): string => (rel === '' ? dir : dir === '/' ? `/${rel}` : `${dir}/${rel}`);

/** Every filesystem a disk with these partitions makes (for the host tool check). */
export function diskFilesystems(parts: readonly DiskPartition[]): FilesystemName[] {
  return FILESYSTEM_NAMES.filter((fs) => parts.some((p) => p.filesystem === fs));
}

