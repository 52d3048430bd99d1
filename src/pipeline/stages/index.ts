/**
 * The registry of stage modules: one per keyed stage (a stage missing here,
 * or filed under another stage's name, does not compile), listed in the
 * build's order. Adding a stage is a file beside this one, its name in
 * STAGES (stage-names.ts) and an entry here.
 */
import { KEYED_STAGES, type KeyedStage } from '../stage-names.ts';
import { configure } from './configure.ts';
import { customize } from './customize.ts';
import { finalize } from './finalize.ts';
import { output } from './output.ts';
import { prune } from './prune.ts';
import type { StageModule } from './types.ts';
import { unpack } from './unpack.ts';

export type { StageContext, StageModule, StageReads } from './types.ts';
export { readFragments } from './fragments.ts';
export { planStages, type PlannedStages, type StagePlan, type StagePlanInputs } from './plan.ts';

/** One module for each keyed stage, filed under its own name. */
export type StageRegistry = { readonly [S in KeyedStage]: StageModule<S> };

export const STAGE_MODULES: StageRegistry = { unpack, configure, customize, prune, finalize, output };

/** The stage modules in the build's order. */
export const STAGE_ORDER: readonly StageModule[] = KEYED_STAGES.map((name) => STAGE_MODULES[name]);
