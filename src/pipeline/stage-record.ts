/**
 * The stage keys of the last build of an image, remembered by everything
 * that went into them but the package set: the image directory, the merged
 * configuration, the hooks' and overlays' digests and the kiln build.
 * `kiln shell --stage` finds that build's checkpoint by them without
 * resolving the package set again, so with no mirror reachable; a change
 * to any of those inputs misses the record, and the shell resolves anew.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { writeJsonAtomic } from '../repo/memo.ts';
import { buildId } from '../version.ts';
import type { Hook } from './hooks.ts';
import type { StageKeys } from './stages.ts';

export interface StageRecordInputs {
  imageDir: string;
  config: Config;
  hooks: readonly Hook[];
  /** Per stage, the digest of its overlay and layers. */
  overlayDigests: Readonly<Record<string, string>>;
}

export interface StageRecord {
  keys: StageKeys;
  sourceDateEpoch: number;
}

function recordPath(cache: string, inputs: StageRecordInputs): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([inputs.imageDir, inputs.config, inputs.hooks.map((h) => [h.stage, h.name, h.digest]), Object.entries(inputs.overlayDigests).sort(), buildId()]))
    .digest('hex');
  return join(cache, 'stage-keys', `${digest}.json`);
}

/** Remembers a build's keys (atomically; a failure to write only costs the shell a resolve). */
export async function rememberStageKeys(cache: string, inputs: StageRecordInputs, record: StageRecord): Promise<void> {
  await writeJsonAtomic(recordPath(cache, inputs), record).catch(() => undefined);
}

/** The keys of the last build with these inputs, if one was made. */
export function recallStageKeys(cache: string, inputs: StageRecordInputs): StageRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(recordPath(cache, inputs), 'utf8')) as StageRecord;
    return typeof record.sourceDateEpoch === 'number' && record.keys && typeof record.keys === 'object' ? record : undefined;
  } catch {
    return undefined;
  }
}
