/**
 * What crosses into the namespace: one JSON line on the parent pipe. The
 * worker on the other side (worker.ts) needs nothing else from the outer
 * process.
 */
import type { Config } from '../config/index.ts';
import type { InstallPlan } from '../formats/types.ts';
import type { BinfmtEntry } from '../sandbox/index.ts';

export interface Emulation {
  entry: BinfmtEntry;
  mode: 'namespace' | 'host';
  /** Host registration without the F flag: the interpreter must be bound into the root. */
  bindInterpreter: boolean;
}

export interface BuildJob {
  kind: 'build';
  config: Config;
  plan: InstallPlan;
  blobs: Record<string, string>;
  /** Absolute output directory and the outputs to write there. */
  outputDir: string;
  /** Where the tree is assembled: a tmpfs mount point or a directory on disk. */
  workDir: string;
  emulation?: Emulation;
  /** kiln's cache directory (for helper files such as native interpreter wrappers). */
  cacheDir: string;
  sourceDateEpoch: number;
  debug: boolean;
}

export interface ShellJob {
  kind: 'shell';
  /** A directory tree, or a tar to unpack into a throw-away tmpfs. */
  tree: { directory: string } | { tar: string };
  workDir: string;
  argv: string[];
  emulation?: Emulation;
}

export type Job = BuildJob | ShellJob;
