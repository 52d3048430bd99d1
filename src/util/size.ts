/** Sizes as people write them. */
import { sizeInBytes } from '../config/kinds.ts';
import { UserError } from './errors.ts';

/** --max-size: 1.5G, 500M, 200k, 1000 (bytes). */
export function parseSize(text: string): number {
  const bytes = sizeInBytes(text);
  if (bytes === undefined) throw new UserError(`--max-size ${text}: expected a size such as 500M or 2G`);
  return bytes;
}

/** A byte count for people: B, KiB, MiB, GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A tree's size as a stage's line shows it: `412.3 MiB, 9870 paths`. */
export function describeTreeSize(size: { bytes: number; paths: number }): string {
  return `${formatBytes(size.bytes)}, ${size.paths} paths`;
}
