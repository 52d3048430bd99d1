/**
 * The partition U-Boot's distro boot reads first: the first one marked
 * bootable (MBR boot flag, GPT legacy-bios-bootable attribute), else the
 * first partition (as distro boot does when none is marked). Its tree
 * directory (contents) is where extlinux/extlinux.conf goes; "/" when that
 * partition is the root or has no contents of its own.
 */
import type { Config } from '../config/index.ts';

type PartitionItem = Config['disk.partitions'][number];

const marked = (p: PartitionItem) => p.bootable === true || (Array.isArray(p.attributes) && (p.attributes as unknown[]).includes('legacy-bios-bootable'));

/** The contents a partition of these types has when it names none (src/outputs/partition-plan.ts). */
const DEFAULT_CONTENTS: Record<string, string> = { esp: '/efi', xbootldr: '/boot' };

export function ubootDirectory(config: Config): string {
  const partitions = config['disk.partitions'];
  const first = partitions.find(marked) ?? partitions[0];
  if (typeof first?.contents === 'string') return first.contents;
  return DEFAULT_CONTENTS[String(first?.type ?? '').toLowerCase()] ?? '/';
}
