/** The plan in lines, for --dry-run and the build log. */
import { typeInWords } from './partition-types.ts';
import { formatSize } from './sizes.ts';
import type { DiskLayout, PlannedPartition } from './types.ts';

const sized = (n: number): string => (n < 1024 ? `${n} bytes` : `${formatSize(n)} (${n} bytes)`);

/**
 * One line for the disk, one per partition (number, type in words, label,
 * offset, size, PARTUUID, and what `describe` adds, such as the
 * filesystem), one per blob.
 */
export function layoutLines(layout: DiskLayout, describe?: (partition: PlannedPartition) => string | undefined): string[] {
  const id = layout.table === 'gpt' ? `disk GUID ${layout.diskGuid}` : `disk signature 0x${layout.diskSignature.toString(16).padStart(8, '0')}`;
  const lines = [`${layout.table === 'gpt' ? 'GPT' : 'MBR'} disk of ${sized(layout.size)}, ${id}`];
  for (const p of layout.partitions) {
    const extra = describe?.(p);
    const fields = [
      `${p.number}: ${typeInWords(p)}`,
      ...(p.label ? [JSON.stringify(p.label)] : []),
      ...(extra ? [extra] : []),
      `at ${sized(p.offset)}`,
      `size ${sized(p.size)}`,
      ...(p.spec.bootable && layout.table === 'mbr' ? ['bootable'] : []),
      `PARTUUID ${p.partUuid}`,
    ];
    lines.push(`  partition ${fields.join(', ')}`);
  }
  for (const b of layout.blobs) lines.push(`  blob ${b.name} at ${sized(b.offset)}, ${sized(b.size)}`);
  return lines;
}
