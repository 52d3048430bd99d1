/**
 * The key of each stage: a hash of the previous stage's key and everything
 * that can change this stage (the settings of its sections, its hooks, and
 * what its module in stages/ declares it reads: overlay contents, the exact
 * packages, SOURCE_DATE_EPOCH; kiln's version at the start of the chain).
 * Equal keys mean equal results, so a stored result (a checkpoint) under
 * that key can stand in for running the stage.
 */
import { createHash } from 'node:crypto';
import { SETTINGS, SETTING_KEYS, type LoadedConfig, type SettingKey, type SettingSection } from '../config/index.ts';
import type { InstallPlan } from '../formats/types.ts';
import type { Hook } from './hooks.ts';

export { shortKey, STAGES, TREE_STAGES, KEYED_STAGES, CHECKPOINTED, HOOK_STAGES, type StageName, type TreeStage, type KeyedStage, type HookStage } from './stage-names.ts';
import type { HookStage, KeyedStage, StageName } from './stage-names.ts';
import { STAGE_ORDER } from './stages/index.ts';

/**
 * The stage that reads each section's settings, for every section the
 * settings table declares (a new section that is not here does not compile);
 * build.* changes how kiln works, never what it makes; lock.* where the packages come from.
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
  disk: 'output',
  filesystem: 'output',
  oci: 'output',
  boot: 'output',
  vagrant: 'output',
  build: undefined,
  lock: undefined,
  hooks: undefined,
};

/** Settings read by another stage than their section's: an overlay belongs to the stage module that declares it; the seed's ids are made by the outputs. */
const SETTING_STAGE: Partial<Record<SettingKey, StageName>> = { ...Object.fromEntries(STAGE_ORDER.flatMap((m) => (m.reads.overlay ? [[m.reads.overlay, m.name]] : []))), 'build.seed': 'output' };

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
  overlays: Partial<Record<KeyedStage, string>>;
  /** Hashes private values (never stored as they are): a keyed hash with a per-cache secret. */
  hidePrivate(value: unknown): string;
}

export type StageKeys = Record<KeyedStage, string>;

/** The key of every stage from unpack to output: a hash chain, each link covering what its stage module reads. */
export function stageKeys(inputs: KeyInputs): StageKeys {
  const { loaded } = inputs;
  const settingValue = (key: SettingKey) => keyedValue(key, loaded, inputs.hidePrivate);
  const settingsOf = (stage: StageName) => SETTING_KEYS.filter((k) => settingStage(k) === stage && k in loaded.config).map((k) => [k, settingValue(k)]);
  // A user's hook sees every setting (KILN_SECTION_KEY): a stage with one depends on all of them.
  const allSettings = SETTING_KEYS.filter((k) => settingStage(k) !== undefined && k in loaded.config).map((k) => [k, settingValue(k)]);
  const hooksOf = (stage: HookStage) => inputs.hooks.filter((h) => h.stage === stage);
  const plan = {
    format: inputs.plan.format,
    packages: inputs.plan.packages.map((p) => [p.name, p.version, p.architecture, p.sha256]),
    extra: inputs.plan.extra,
  };
  const keys = {} as StageKeys;
  let previous = hash(['kiln', inputs.kilnVersion]);
  for (const { name: stage, reads } of STAGE_ORDER) {
    const hooks = hooksOf(stage);
    const parts: unknown[] = [previous, stage, settingsOf(stage), hooks.map((h) => [h.name, h.chroot, h.digest]), inputs.overlays[stage] ?? null];
    if (hooks.some((h) => h.source !== 'builtin')) parts.push(allSettings);
    // In this order, so that keys stay those of checkpoints made before the stages were modules.
    for (const other of reads.settingsOf ?? []) parts.push(settingsOf(other));
    if (reads.plan) parts.push(plan);
    if (reads.sourceDateEpoch) parts.push(inputs.sourceDateEpoch);
    previous = keys[stage] = hash(parts);
  }
  return keys;
}

/**
 * A setting as its stage key covers it. Only what is actually private goes
 * through the keyed hash (whose key is a per-cache secret): a set password
 * or hash, a value from the private layer. Everything else, an unset secret
 * and the public fields of a record list that may hold secrets (users.accounts)
 * included, is hashed in the clear, so the key (and the manifest's and SBOM's
 * identity, which come from it) is the same on every machine for the same
 * inputs. A private value still changes the key when it changes.
 */
export function keyedValue(key: SettingKey, loaded: Pick<LoadedConfig, 'config' | 'private'>, hidePrivate: (value: unknown) => string): unknown {
  const value = loaded.config[key];
  if (value === undefined) return null;
  const kind = SETTINGS[key].kind as { secret?: boolean; redact?: (v: unknown) => unknown };
  if (kind.secret || loaded.private.includes(key)) return { private: hidePrivate(value) };
  if (!kind.redact) return value;
  // A list of records with secret fields: the redacted list in the clear, the secret fields' values (by item and field) hashed.
  const redacted = kind.redact(value);
  const secrets = (value as Record<string, unknown>[]).flatMap((record, i) =>
    Object.entries(record).filter(([field]) => (redacted as Record<string, unknown>[])[i]?.[field] === '(secret)').map(([field, v]) => [i, field, v]),
  );
  return secrets.length ? { value: redacted, private: hidePrivate(secrets) } : redacted;
}

function hash(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
