/**
 * Every output format and its writer: one module per writer, one entry here.
 * The settings table's list of formats (output.format) is this registry's
 * keys, so this module and the writers import nothing from src/config.
 */
import { cpioWriter } from './cpio.ts';
import { directoryWriter } from './directory.ts';
import { compressedDiskWriter, diskWriter } from './disk.ts';
import { partitionsWriter } from './partitions.ts';
import { qcow2Writer } from './qcow2.ts';
import { filesystemWriter } from './filesystem.ts';
import { ociArchiveWriter, ociWriter } from './oci.ts';
import { tarWriter } from './tar.ts';
import { vagrantLibvirtWriter } from './vagrant.ts';
import type { OutputRegistry } from './writer.ts';

export const OUTPUTS = {
  directory: directoryWriter,
  tar: tarWriter('tar', 'none'),
  'tar.gz': tarWriter('tar.gz', 'gz'),
  'tar.xz': tarWriter('tar.xz', 'xz'),
  'tar.zst': tarWriter('tar.zst', 'zst'),
  partitions: partitionsWriter,
  disk: diskWriter,
  'disk.zst': compressedDiskWriter('zst'),
  'disk.xz': compressedDiskWriter('xz'),
  qcow2: qcow2Writer,
  'vagrant-libvirt': vagrantLibvirtWriter,
  ext4: filesystemWriter('ext4'),
  vfat: filesystemWriter('vfat'),
  erofs: filesystemWriter('erofs'),
  squashfs: filesystemWriter('squashfs'),
  btrfs: filesystemWriter('btrfs'),
  cpio: cpioWriter('cpio', 'none'),
  'cpio.gz': cpioWriter('cpio.gz', 'gz'),
  'cpio.zst': cpioWriter('cpio.zst', 'zst'),
  oci: ociWriter,
  'oci.tar': ociArchiveWriter,
} as const satisfies OutputRegistry;

export type OutputFormat = keyof typeof OUTPUTS;

/** The output formats, in the registry's order (for output.format's validation and help). */
export const OUTPUT_FORMATS = Object.keys(OUTPUTS) as OutputFormat[];
