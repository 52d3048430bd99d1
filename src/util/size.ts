/** Sizes as people write them. */
import { sizeInBytes } from '../config/kinds.ts';
import { UserError } from './errors.ts';

/** --max-size: 1.5G, 500M, 200k, 1000 (bytes). */
export function parseSize(text: string): number {
  const bytes = sizeInBytes(text);
  if (bytes === undefined) throw new UserError(`--max-size ${text}: expected a size such as 500M or 2G`);
  return bytes;
}
