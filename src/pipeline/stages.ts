/**
 * The build as an explicit, ordered list of stages, and the key of each: a
 * hash of the previous stage's key and everything that can change this
 * stage (the settings it reads, the exact packages, hook and overlay
 * contents, kiln's version). Equal keys mean equal results, so a stored
 * result (a checkpoint) under that key can stand in for running the stage.
 */
import { createHash } from 'node:crypto';
import { SETTINGS, SETTING_KEYS, type LoadedConfig, type SettingKey, type SettingSection } from '../config/index.ts';
import type { InstallPlan } from '../formats/types.ts';
import type { Hook } from './hooks.ts';

export { STAGES, TREE_STAGES, CHECKPOINTED, HOOK_STAGES, type StageName, type TreeStage, type HookStage } from './stage-names.ts';
import { TREE_STAGES, type HookStage, type StageName, type TreeStage } from './stage-names.ts';

/**
 * The stage that reads each section's settings, for every section the
 * settings table declares (a new section that is not here does not compile);
 * build.* changes how kiln works, never what it makes.
 */
export type SectionStages = Record<SettingSection, StageName | undefined>;

const SECTION_STAGE: SectionStages = {
  distribution: 'resolve',
  board: 'resolve',
  packages: 'resolve',
  system: 'customize',
  users: 'customize',
  services: 'customize',
  overlay: 'customize',
  prune: 'prune',
  output: 'output',
  build: undefined,
  hooks: undefined,
};

/** Settings read by another stage than their section's. */
const SETTING_STAGE: Partial<Record<SettingKey, StageName>> = { 'overlay.skeleton': 'unpack' };

export function settingStage(key: SettingKey): StageName | undefined {
  return SETTING_STAGE[key] ?? SECTION_STAGE[key.split('.')[0] as SettingSection];
}

// The umask is not a key input: the build worker sets its own (022), and so does the sandbox, so a checkpoint made under one caller's umask is the same tree under any other.

export interface KeyInputs {
  loaded: LoadedConfig;
  plan: InstallPlan;
  hooks: Hook[];
  sourceDateEpoch: number;
  kilnVersion: string;
  /** Digests of overlay trees by the stage that copies them in. */
  overlays: Partial<Record<TreeStage, string>>;
  /** Hashes private values (never stored as they are): a keyed hash with a per-cache secret. */
  hidePrivate(value: unknown): string;
}

/** The key of every stage from unpack to output. */
export function stageKeys(inputs: KeyInputs): Record<TreeStage | 'output', string> {
  const { loaded } = inputs;
  const settingValue = (key: SettingKey) => {
    const kind = SETTINGS[key].kind as { secret?: boolean; redact?: unknown };
    return loaded.private.includes(key) || kind.secret || kind.redact ? inputs.hidePrivate(loaded.config[key]) : loaded.config[key];
  };
  const settingsOf = (stage: StageName) => SETTING_KEYS.filter((k) => settingStage(k) === stage && k in loaded.config).map((k) => [k, settingValue(k)]);
  // A user's hook sees every setting (KILN_SECTION_KEY): a stage with one depends on all of them.
  const allSettings = SETTING_KEYS.filter((k) => settingStage(k) !== undefined && k in loaded.config).map((k) => [k, settingValue(k)]);
  const hooksOf = (stage: HookStage) => inputs.hooks.filter((h) => h.stage === stage);
  const plan = {
    format: inputs.plan.format,
    packages: inputs.plan.packages.map((p) => [p.name, p.version, p.architecture, p.sha256]),
    extra: inputs.plan.extra,
  };
  const keys = {} as Record<TreeStage | 'output', string>;
  let previous = hash(['kiln', inputs.kilnVersion]);
  for (const stage of [...TREE_STAGES, 'output'] as const) {
    const hooks = hooksOf(stage);
    const parts: unknown[] = [previous, stage, settingsOf(stage), hooks.map((h) => [h.name, h.chroot, h.digest]), inputs.overlays[stage as TreeStage] ?? null];
    if (hooks.some((h) => h.source !== 'builtin')) parts.push(allSettings);
    if (stage === 'unpack') parts.push(settingsOf('resolve'), plan, inputs.sourceDateEpoch);
    if (stage === 'finalize') parts.push(inputs.sourceDateEpoch);
    previous = keys[stage] = hash(parts);
  }
  return keys;
}

function hash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Short form of a key for messages. */
export function shortKey(key: string): string {
  return key.slice(0, 12);
}
