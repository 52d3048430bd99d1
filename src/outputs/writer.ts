/**
 * The one shape of an output writer. A writer is made from the finished tree
 * or from other outputs (`from`), writes exactly one output to the temporary
 * path it is given, and says which host tools it runs, so that a missing one
 * is reported before any stage runs. Writers import nothing from
 * src/config at run time: the settings table reads the registry's names.
 */
import type { XattrMap } from '../archive/index.ts';
import type { Machine } from '../catalog/machines.ts';
import type { Config } from '../config/index.ts';
import type { Emit } from '../util/events.ts';

/** A program a writer runs, with the packages that provide it (for the error hint and `kiln doctor`). */
export interface HostTool {
  command: string;
  /** Debian/Ubuntu, Fedora and Arch packages that provide it. */
  packages: readonly [debian: string, fedora: string, arch: string];
}

/** What the writers of one request share, read from the tree at most once. */
export interface TreeFacts {
  xattrs(): Promise<XattrMap>;
}

export interface WriterInput {
  /** The finished tree. Only a writer without `from` reads it; one that `takesTree` may move it away. */
  root: string;
  /** Where to write the output: nothing is there yet; it is renamed to its final name with the others. */
  tmp: string;
  /**
   * The output's final path, where an earlier build may have left its output. A writer that can
   * update that output rather than write it anew (the directory output) may move it to `tmp`.
   */
  previous?: string;
  /** The complete outputs this one is made from (its `from`), by format: their temporary paths. */
  made: Readonly<Record<string, string>>;
  sourceDateEpoch: number;
  /** The tree lives on a tmpfs that vanishes with the build: moving it away is not possible. */
  rootOnTmpfs: boolean;
  tree: TreeFacts;
  /** The image directory: relative paths in the configuration ([[blob]] file, a partition's image) are from here. */
  imageDir: string;
  /** The merged configuration (a writer reads its own section: disk.*, filesystem.*, oci.*). */
  config: Config;
  /** The target's machine as uname -m says it. */
  machine: Machine;
  /** The architecture in the distribution's own spelling (arm64, armv7h, ...). */
  architecture: string;
  /** Every UUID and volume id an output makes derives from it (build.seed, or the image's identity). */
  seed: string;
  emit: Emit;
}

/** What a writer says about its output for the manifest (partitions, filesystem UUIDs, digests), JSON-ready. */
export type OutputDetails = Record<string, unknown>;

export interface OutputWriter<Format extends string = string> {
  /** The output's file name for the base name output.name (NAME.tar, NAME/ for a directory). */
  fileName(name: string): string;
  /** Host programs it runs (all must be on the host before the build starts). */
  tools: readonly HostTool[];
  /** The outputs it is made from: written first (kept only if asked for), then handed to it. None: made from the tree. */
  from: readonly Format[];
  /** It may move the tree away: it runs after every writer that is not made from it. */
  takesTree: boolean;
  write(input: WriterInput): Promise<OutputDetails | void>;
}

/** Every format a registry knows, with its writer. */
export type OutputRegistry<Format extends string = string> = Readonly<Record<Format, OutputWriter<Format>>>;
