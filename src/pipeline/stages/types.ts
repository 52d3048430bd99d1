/**
 * What every stage module is: a name, what its key covers besides its own
 * settings and hooks (`reads`), and `run(ctx)`. The registry (index.ts)
 * holds one per keyed stage; the build loop (inside-build.ts) and the stage
 * keys (stages.ts) know stages only through it.
 */
import type { SettingKey } from '../../config/index.ts';
import type { InstallEnvironment } from '../../formats/index.ts';
import type { InventoryFormat } from '../../outputs/image-inventory.ts';
import type { Emit } from '../../util/events.ts';
import type { BuildJob } from '../job.ts';
import type { KeyedStage, StageName } from '../stage-names.ts';

/**
 * What a stage's key covers besides its name, the previous stage's key, the
 * settings of its own (SECTION_STAGE in stages.ts) and its hooks.
 */
export interface StageReads {
  /** The overlay setting whose tree the stage copies in: the tree's digest keys it. */
  overlay?: SettingKey;
  /** A list of layer tars (relative to the image directory) the stage applies: their contents key it too. */
  layers?: SettingKey;
  /** Settings that belong to other stages (unpack installs what resolve chose). */
  settingsOf?: readonly StageName[];
  /** The exact packages: names, versions, architectures, checksums. */
  plan?: true;
  sourceDateEpoch?: true;
}


/** Everything a stage works with inside the namespace. */
export interface StageContext {
  job: BuildJob;
  /** The tree being built. */
  root: string;
  /** The package format's view of the build, plan aside (runs commands in the tree). */
  install: InstallEnvironment;
  /** The plan's own format's unpack and configure, bound to the plan. */
  installer: { unpack(): Promise<void>; configure(): Promise<void> };
  /** The plan's format's reading of the finished tree's package database (its inventory, owned files and relations). */
  packageDatabase: InventoryFormat;
  emit: Emit;
  /** Paths to remove if the build is stopped (the worker's, passed in). */
  temporaries: Set<string>;
  /** $KILN_MANIFEST_DIR: the JSON fragments hooks leave for the manifest. */
  fragments: string;
}

export interface StageModule<N extends KeyedStage = KeyedStage> {
  readonly name: N;
  readonly reads: StageReads;
  /** Does the stage's work; returns what its hooks see in their environment besides the usual. */
  run(ctx: StageContext): Promise<Record<string, string> | void>;
  /** Work on the tree after the stage's hooks (and before its checkpoint). */
  afterHooks?(ctx: StageContext): Promise<void>;
}
