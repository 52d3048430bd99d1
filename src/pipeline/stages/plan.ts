/**
 * The stage plan: for every stage, whether this build runs it or reuses a
 * stored result (the outputs, or a checkpoint), from the stage keys, what is
 * stored and --rebuild. Pure: what is stored is asked through the two
 * lookups it is given, so the plan can be printed (--dry-run) and tested
 * with no cache, no network and no namespace.
 */
import { CHECKPOINTED, shortKey, STAGES, type KeyedStage, type StageName, type TreeStage } from '../stage-names.ts';

export interface StagePlan {
  name: StageName;
  /** What this build does for the stage. */
  action: 'run' | 'reuse';
  key?: string;
  /** Where a reused stage comes from. */
  from?: string;
}

export interface StagePlanInputs {
  keys: Record<KeyedStage, string>;
  /** Run again from this stage on, whatever is stored (true: from the start). */
  rebuild?: StageName | true;
  /** Whether the outputs on disk are those of the output key (asked only when they could be reused). */
  outputsUpToDate(outputKey: string): boolean;
  /** Whether a usable checkpoint is stored under a key (asked newest stage first, until one is). */
  stored(key: string): boolean;
  /** build.checkpoints: store the results of the checkpointed stages that run. */
  checkpoints: boolean;
}

export interface PlannedStages {
  /** Every stage, in order. */
  stages: StagePlan[];
  /** Nothing to do: the outputs are those of this configuration. */
  upToDate: boolean;
  /** The checkpoint the tree starts from (none: an empty tree, after fetch). */
  resume?: { stage: TreeStage; key: string };
  /** The stages the namespace runs, in order, and whether each one's result is stored. */
  run: { name: KeyedStage; key: string; checkpoint: boolean }[];
}

export function planStages(inputs: StagePlanInputs): PlannedStages {
  const { keys, rebuild } = inputs;
  const rebuildFrom = rebuild === true ? 'unpack' : rebuild;
  const forced = (stage: StageName) => rebuildFrom !== undefined && STAGES.indexOf(stage) >= STAGES.indexOf(rebuildFrom);
  if (!forced('output') && inputs.outputsUpToDate(keys.output)) {
    return { stages: STAGES.map((name) => ({ name, action: 'reuse', from: 'outputs' })), upToDate: true, run: [] };
  }
  const resumeStage = [...CHECKPOINTED].reverse().find((stage) => !forced(stage) && inputs.stored(keys[stage]));
  const resume = resumeStage ? { stage: resumeStage, key: keys[resumeStage] } : undefined;
  const resumeIndex = resume ? STAGES.indexOf(resume.stage) : STAGES.indexOf('resolve');
  const stages = STAGES.map((name, i): StagePlan => {
    if (name === 'resolve') return { name, action: 'run' };
    const key = name === 'fetch' ? undefined : keys[name];
    return i <= resumeIndex ? { name, action: 'reuse', key, from: `checkpoint ${shortKey(resume!.key)}` } : { name, action: 'run', key };
  });
  const run = stages
    .filter((s): s is StagePlan & { name: KeyedStage; key: string } => s.action === 'run' && s.key !== undefined)
    .map((s) => ({ name: s.name, key: s.key, checkpoint: inputs.checkpoints && (CHECKPOINTED as readonly string[]).includes(s.name) }));
  return { stages, upToDate: false, resume, run };
}
