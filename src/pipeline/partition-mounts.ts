/**
 * The image's partitions as mount points while package scripts run. On the
 * running system /boot/firmware, /efi or /boot are the mount points of their
 * partitions, and some hooks refuse to work on them otherwise: Debian's
 * raspi-firmware (its kernel and initramfs hooks, z50-raspi-firmware) stops
 * with "missing /boot/firmware, did you forget to mount it?". So each
 * directory a partition is mounted at (every one but the root's) is made
 * as the output stage would make it (src/outputs/partition-stage.ts) and
 * bound onto itself in the command's sandbox: `mountpoint` and findmnt see
 * a mount point, the files stay in the tree. A tool that looks further sees
 * the tree's filesystem: statfs gives its type, not vfat (bootctl checks
 * that of an ESP).
 */
import type { Config } from '../config/index.ts';
import { diskPartitions } from '../outputs/index.ts';
import { ensureMountPoints } from '../outputs/partition-stage.ts';

/** The directories the image's partitions are mounted at, but /, parents before what they hold. */
export function partitionMountPoints(config: Config): { path: string; who: string }[] {
  const points = new Map<string, string>();
  for (const p of diskPartitions(config, '/')) if (p.mount !== undefined && p.mount !== '/' && !points.has(p.mount)) points.set(p.mount, p.describe);
  const depth = (path: string) => path.split('/').filter(Boolean).length;
  return [...points].map(([path, who]) => ({ path, who })).sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The mount points for a command in the tree at `root`, made where it lacks them (empty, root's, 0755, at SOURCE_DATE_EPOCH). */
export function scriptMountPoints(root: string, config: Config, sourceDateEpoch: number): string[] {
  const points = partitionMountPoints(config);
  ensureMountPoints(root, points, sourceDateEpoch);
  return points.map((p) => p.path);
}
