/**
 * `kiln shell --stage STAGE [--save [NAME]]`, the host side: the stage's
 * checkpoint for the current configuration (found by its key, which the
 * last build recorded, so that no mirror is needed; checked before use,
 * only ever read), and, after a saved shell, the layer named by
 * its content (or NAME) in the image directory's overlays/ with a drop-in
 * in kiln.conf.d/ that adds it to overlay.layers. The user's kiln.toml is
 * never edited: the drop-in is a file of its own, for git.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DROPINS, type LoadedConfig } from '../config/index.ts';
import { build, stageOverlays } from '../pipeline/build.ts';
import { collectHooks } from '../pipeline/hooks.ts';
import { recallStageKeys } from '../pipeline/stage-record.ts';
import { CheckpointStore } from '../pipeline/checkpoints.ts';
import { CHECKPOINTED, shortKey, type TreeStage } from '../pipeline/stages.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';

export const LAYER_DIR = 'overlays';

/**
 * The checkpoint of `stage` for this configuration, verified, and the
 * build's SOURCE_DATE_EPOCH: by the keys the last build of this
 * configuration recorded (no resolve, no mirror), else by resolving again.
 */
export async function stageCheckpoint(loaded: LoadedConfig, stage: string, cache: string, emit: Emit): Promise<{ checkpoint: { dir: string; owner: string; key: string }; sourceDateEpoch: number }> {
  if (!(CHECKPOINTED as readonly string[]).includes(stage)) {
    throw new UserError(`--stage ${stage}: no such stage with a checkpoint`, `use one of ${CHECKPOINTED.join(', ')}`);
  }
  const store = new CheckpointStore(join(cache, 'checkpoints'));
  const notBuilt = () =>
    new UserError(`--stage ${stage}: no ${stage} checkpoint for this configuration`, `build it first: kiln build (with build.checkpoints = true, the default), then run kiln shell --stage ${stage} again`);
  if (!loaded.config['build.checkpoints']) throw notBuilt();
  const inputs = { imageDir: loaded.dir, config: loaded.config, hooks: collectHooks(loaded.dir, loaded.config), overlayDigests: stageOverlays(loaded).overlayDigests };
  const recalled = recallStageKeys(cache, inputs);
  const recalledKey = recalled?.keys[stage as TreeStage];
  let record = recalledKey && store.find(recalledKey) ? recalled : undefined;
  if (!record) {
    // Quiet: only warnings of the resolve (a plan it had made is reused) are shown.
    const quiet: Emit = (e) => (e.kind === 'log' && e.level === 'warn' ? emit(e) : undefined);
    const { keys, sourceDateEpoch } = await build(loaded, { emit: quiet, dryRun: true });
    record = keys && sourceDateEpoch !== undefined ? { keys, sourceDateEpoch } : undefined;
  }
  const key = record?.keys[stage as TreeStage];
  const found = key ? store.find(key) : undefined;
  if (!record || !key || !found) throw notBuilt();
  if (!(await store.verify(found))) throw new UserError(`--stage ${stage}: the ${stage} checkpoint ${shortKey(key)} was damaged and is removed`, 'build again to make it anew');
  return { checkpoint: { dir: store.dir, owner: store.owner, key }, sourceDateEpoch: record.sourceDateEpoch };
}

/** Where the shell writes its layer before it has a name (in the image directory's overlays/). */
export function pendingLayer(imageDir: string): string {
  mkdirSync(join(imageDir, LAYER_DIR), { recursive: true });
  return join(imageDir, LAYER_DIR, `.shell-${process.pid}.tar`);
}

/**
 * Names the layer (NAME.tar, or shell-HASH.tar after its content) and adds
 * it to overlay.layers with a drop-in of its own; returns what to tell the user,
 * or undefined when the shell changed nothing.
 */
export function keepLayer(imageDir: string, pending: string, name: string | undefined): string | undefined {
  if (!existsSync(pending)) return undefined;
  const hash = createHash('sha256').update(readFileSync(pending)).digest('hex').slice(0, 16);
  const base = name ?? `shell-${hash}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(base)) {
    rmSync(pending, { force: true });
    throw new UserError(`--save ${base}: not a file name`, 'use letters, digits, ".", "_" and "-"');
  }
  const rel = `${LAYER_DIR}/${base}.tar`;
  renameSync(pending, join(imageDir, rel));
  const dropins = join(imageDir, CONFIG_DROPINS);
  mkdirSync(dropins, { recursive: true });
  const dropin = join(dropins, `50-layer-${base}.toml`);
  writeFileSync(dropin, `# Written by kiln shell --save: the changes made in the shell, replayed by every build at the end of customize.\n[overlay]\nlayers = { add = [${JSON.stringify(rel)}] }\n`);
  return `saved the shell's changes as ${rel}, added to overlay.layers by ${CONFIG_DROPINS}/50-layer-${base}.toml (commit both)`;
}
