/**
 * What crosses into the namespace: one JSON line on the parent pipe. The
 * worker on the other side (worker.ts) needs nothing else from the outer
 * process.
 */
import type { Machine } from '../catalog/machines.ts';
import type { Config } from '../config/index.ts';
import type { AnyPlan } from '../formats/index.ts';
import type { BinfmtEntry } from '../sandbox/index.ts';
import type { Hook } from './hooks.ts';
import type { TwinSet } from './twin-store.ts';
import type { Manifest } from '../outputs/index.ts';
import type { KeyedStage, TreeStage } from './stage-names.ts';

export interface Emulation {
  entry: BinfmtEntry;
  mode: 'namespace' | 'host';
  /** Host registration without the F flag: the interpreter must be bound into the root. */
  bindInterpreter: boolean;
  /** Native twins for package scripts (build.emulation = "native-twins", namespace mode only). */
  twins?: TwinSet;
}

export interface BuildJob {
  kind: 'build';
  config: Config;
  plan: AnyPlan;
  blobs: Record<string, string>;
  /** Absolute output directory and the outputs to write there. */
  outputDir: string;
  /** Where the tree is assembled: a tmpfs mount point or a directory on disk. */
  workDir: string;
  emulation?: Emulation;
  /** kiln's cache directory (for helper files such as native interpreter wrappers). */
  cacheDir: string;
  /** The download store (packages are read, and if damaged downloaded again, from there). */
  downloadDir: string;
  sourceDateEpoch: number;
  /** The target's machine (uname -m). */
  machine: Machine;
  debug: boolean;
  /** The image directory (hooks run with it as $KILN_IMAGE_DIR). */
  imageDir: string;
  kilnVersion: string;
  /** The checkpoint to start from (none: start with an empty tree). */
  resume?: { stage: TreeStage; key: string };
  /** The stages to run, in order, each with its key and whether to store its result. */
  stages: { name: KeyedStage; key: string; checkpoint: boolean }[];
  hooks: Hook[];
  /** The absolute path of the overlay each stage copies in (its module's reads.overlay setting). */
  overlays: Partial<Record<KeyedStage, string>>;
  /** Where checkpoints are stored. */
  checkpointDir: string;
  /** The host-side kiln's owner token: checkpoint temporaries are named after it (owner.ts). */
  checkpointOwner: string;
  /** What the manifest says about the image besides what the worker finds in the tree. */
  manifest: { outputKey: string; config: Record<string, unknown>; image: Manifest['image']; supplier: string; sourceDateEpochFrom: string; mirrors: string[]; lock?: Manifest['lock'] };
}

export interface ShellJob {
  kind: 'shell';
  /** A directory tree, a tar to unpack into a throw-away tmpfs, or a checkpoint restored into one (never changed). */
  tree: { directory: string } | { tar: string } | { checkpoint: { dir: string; owner: string; key: string } };
  /** kiln shell --save: write what the command changed as an overlay layer to `path` (a tar, its times clamped to `sourceDateEpoch`), when it exits 0. */
  save?: { path: string; sourceDateEpoch: number };
  workDir: string;
  argv: string[];
  emulation?: Emulation;
  /** build.network and build.process-limit, as for the build's own commands. */
  network: boolean;
  processLimit: number;
}

export type Job = BuildJob | ShellJob;
