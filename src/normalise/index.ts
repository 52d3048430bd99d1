/**
 * The finalize stage's normalisation: the tree's format's items, then the
 * common ones (common.ts), in order; each that changed something says so in
 * one line. A format gives its items as PackageFormat.normalise
 * (src/formats/FORMAT/normalise.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Tree } from '../tree/index.ts';
import { COMMON_NORMALISATION } from './common.ts';
import type { NormaliseContext, NormaliseItem } from './types.ts';

export { COMMON_NORMALISATION } from './common.ts';
export type { NormaliseContext, NormaliseItem } from './types.ts';

/** What the build host has that an image must not (its DNS settings and name). */
export function hostState(): NormaliseContext['host'] {
  let resolvConf: string | undefined;
  try {
    resolvConf = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    resolvConf = undefined;
  }
  return { resolvConf, hostname: hostname() };
}

/** Runs `formatItems` then the common items on the tree at `root`; `log` hears one line per item that changed something. */
export function normaliseTree(root: string, formatItems: readonly NormaliseItem[], ctx: NormaliseContext, log: (line: string) => void): void {
  const tree = new Tree(root);
  for (const item of [...formatItems, ...COMMON_NORMALISATION]) {
    const changed = item.run(tree, ctx);
    if (changed) log(`${item.name}: ${changed}`);
  }
}
