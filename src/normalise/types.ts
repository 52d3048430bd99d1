/**
 * One normalisation: a named change finalize makes to every tree (common.ts)
 * or to the trees of one package format (src/formats/FORMAT/normalise.ts,
 * given through PackageFormat.normalise), so that two builds of the same
 * inputs are the same image and no machine-specific state ships in it. A
 * leaf: types only, so that the formats can import it.
 */
import type { Tree } from '../tree/index.ts';

export interface NormaliseContext {
  /** The image's date: nothing the normalisation writes is dated later. */
  sourceDateEpoch: number;
  /** system.hostname: the image's own name. */
  hostname: string;
  /** What the build host has, that the image must not carry. */
  host: { resolvConf?: string; hostname: string };
}

export interface NormaliseItem {
  /** Short and unique (the build log's debug line and the README's table name it). */
  name: string;
  /** The paths it looks at, as the README lists them. */
  paths: readonly string[];
  /** Why it is done: what would differ between builds, or what a machine must not share. */
  why: string;
  /** Changes the tree; returns what it changed, one short phrase, or undefined when it changed nothing. */
  run(tree: Tree, ctx: NormaliseContext): string | undefined;
}
