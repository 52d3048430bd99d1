/**
 * What the partitions change in the tree and what is checked about them
 * before any stage runs. prepareDiskTree runs at the start of the output
 * stage, before any writer: the mount points the partitions need exist (an
 * empty directory where the tree has none, such as /efi) and /etc/fstab
 * names them, so a tar or directory output agrees with the disk.
 * checkDisk runs before resolve (and for --dry-run): the partitions' rules
 * (partition-plan.ts), room for the board's raw U-Boot (src/boot/uboot-blobs.ts)
 * and the host tools of the filesystems they make.
 */
import { checkUbootRoom } from '../boot/uboot-blobs.ts';
import { findBoard } from '../catalog/index.ts';
import type { Config } from '../config/index.ts';
import type { Emit } from '../util/events.ts';
import { UserError } from '../util/errors.ts';
import { findOnPath } from '../util/path.ts';
import { FILESYSTEMS } from './filesystems/index.ts';
import { writeFstab } from './fstab.ts';
import { ensureMountPoints } from './partition-stage.ts';
import { diskConfig, diskFilesystems } from './partition-plan.ts';
import { writerOrder } from './order.ts';
import type { OutputFormat } from './registry.ts';
import type { FindTool } from './tools.ts';

/** Mount points and /etc/fstab for the configured partitions (nothing when there are none). */
export function prepareDiskTree(root: string, config: Config, imageDir: string, sourceDateEpoch: number, emit: Emit): void {
  if (config['disk.partitions'].length === 0) return;
  const disk = diskConfig(config, imageDir);
  const places = disk.partitions.flatMap((p) => [
    ...(p.contents !== undefined ? [{ path: p.contents, who: p.describe }] : []),
    ...(p.mount !== undefined && p.mount !== p.contents ? [{ path: p.mount, who: p.describe }] : []),
  ]);
  ensureMountPoints(root, places, sourceDateEpoch);
  if (writeFstab(root, config, sourceDateEpoch)) emit({ kind: 'log', level: 'info', source: 'disk', message: `/etc/fstab: ${disk.partitions.filter((p) => p.mount !== undefined || p.filesystem === 'swap').length} entries (disk.fstab = ${config['disk.fstab']})` });
}

/** The partitions' rules, and for a disk output the tools of each filesystem it makes: a UserError names the first problem. */
export function checkDisk(config: Config, imageDir: string, formats: readonly OutputFormat[], find: FindTool = findOnPath): void {
  if (config['disk.partitions'].length === 0) {
    if (writerOrder(formats).includes('partitions')) throw new UserError('the disk outputs need partitions: disk.partitions is empty', 'add [[partition]] tables (see examples/debian-disk/kiln.toml), or choose a board that brings a layout');
    return;
  }
  const disk = diskConfig(config, imageDir);
  if (!writerOrder(formats).includes('partitions')) return;
  checkUbootRoom(config, config['board.name'] ? findBoard(config['board.name']) : undefined);
  for (const fs of diskFilesystems(disk.partitions)) {
    const missing = FILESYSTEMS[fs].tools.find((t) => find(t.command) === undefined);
    if (!missing) continue;
    const [debian, fedora, arch] = missing.packages;
    throw new UserError(`the ${fs} partition needs ${missing.command}, which is not installed`, `install the package ${debian} (Debian/Ubuntu; Fedora ${fedora}, Arch ${arch}), or choose another filesystem`);
  }
}
