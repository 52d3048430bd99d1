/**
 * What `kiln boot` checks about a disk before it starts QEMU: the disk has
 * an EFI system partition (from the output's manifest, which lists the
 * partitions as written) and, on a raw disk, the removable-media EFI binary
 * in it (read with mtools' mdir at the partition's offset, when mtools is
 * installed). Each problem is one line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { findOnPath } from '../util/path.ts';
import { efiArch } from './systemd-boot.ts';

const ESP_TYPE = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

interface DiskPartitionRecord {
  typeGuid?: string;
  type?: string;
  offset: number;
}

/** Why the disk cannot boot on UEFI, or undefined when it looks like it can. */
export function uefiDiskProblem(disk: string, manifestFile: string, machine: string, raw: boolean): string | undefined {
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { outputs: { format: string; details?: { partitions?: DiskPartitionRecord[] } }[] };
  const partitions = manifest.outputs.find((o) => o.details?.partitions)?.details?.partitions ?? [];
  const esp = partitions.find((p) => p.typeGuid?.toLowerCase() === ESP_TYPE || p.type === 'esp');
  if (!esp) return `${disk} has no EFI system partition, so UEFI firmware cannot boot it`;
  const arch = efiArch(machine);
  if (!raw || !arch || !findOnPath('mdir')) return undefined;
  const binary = `::/EFI/BOOT/BOOT${arch.toUpperCase()}.EFI`;
  const r = spawnSync('mdir', ['-b', '-i', `${disk}@@${esp.offset}`, binary], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  if (r.status !== 0) return `${disk} has no bootloader: its EFI system partition has no ${binary.slice(2)} (boot.loader = "none", or the image had no systemd-boot)`;
  return undefined;
}
