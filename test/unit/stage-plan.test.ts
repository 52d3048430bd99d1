/**
 * The stage plan is pure: from the stage keys, --rebuild and what is stored
 * (two lookups, here over plain sets) it says what runs, what is reused and
 * from where, and which results the namespace stores. No cache, no network,
 * no namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planStages, type StagePlanInputs } from '../../src/pipeline/stages/index.ts';
import { KEYED_STAGES, STAGES, shortKey, type KeyedStage } from '../../src/pipeline/stages.ts';

const keys = Object.fromEntries(KEYED_STAGES.map((s, i) => [s, `${String(i).repeat(12)}${s}`])) as Record<KeyedStage, string>;

function plan(over: Partial<StagePlanInputs> & { storedStages?: KeyedStage[]; upToDate?: boolean } = {}) {
  const stored = new Set((over.storedStages ?? []).map((s) => keys[s]));
  return planStages({ keys, outputsUpToDate: () => over.upToDate ?? false, stored: (key) => stored.has(key), checkpoints: true, ...over });
}

/** "name:action" for every stage, the way --dry-run lists them. */
const actions = (p: ReturnType<typeof planStages>) => p.stages.map((s) => `${s.name}:${s.action}`);

test('with nothing stored every stage runs, and the checkpointed ones are stored', () => {
  const p = plan();
  assert.equal(p.upToDate, false);
  assert.equal(p.resume, undefined);
  assert.deepEqual(actions(p), STAGES.map((s) => `${s}:run`));
  assert.deepEqual(p.stages.find((s) => s.name === 'fetch')?.key, undefined);
  assert.deepEqual(
    p.run.map((s) => [s.name, s.key, s.checkpoint]),
    KEYED_STAGES.map((s) => [s, keys[s], s !== 'unpack' && s !== 'output']),
  );
  assert.deepEqual(plan({ checkpoints: false }).run.map((s) => s.checkpoint), KEYED_STAGES.map(() => false), 'build.checkpoints = false stores nothing');
});

test('the build resumes from the newest stored checkpoint, asking newest first and no further', () => {
  const asked: string[] = [];
  const stored = new Set([keys.configure, keys.customize]);
  const p = plan({ stored: (key) => (asked.push(key), stored.has(key)) });
  assert.deepEqual(asked, [keys.finalize, keys.prune, keys.customize]);
  assert.deepEqual(p.resume, { stage: 'customize', key: keys.customize });
  assert.deepEqual(actions(p), ['resolve:run', 'fetch:reuse', 'unpack:reuse', 'configure:reuse', 'customize:reuse', 'prune:run', 'finalize:run', 'output:run']);
  assert.equal(p.stages.find((s) => s.name === 'unpack')?.from, `checkpoint ${shortKey(keys.customize)}`);
  assert.deepEqual(p.run.map((s) => s.name), ['prune', 'finalize', 'output']);
});

test('--rebuild from a stage ignores what is stored for it and after it', () => {
  const all: KeyedStage[] = ['configure', 'customize', 'prune', 'finalize'];
  assert.deepEqual(plan({ storedStages: all, rebuild: 'prune' }).resume, { stage: 'customize', key: keys.customize });
  assert.deepEqual(plan({ storedStages: all, rebuild: 'configure' }).resume, undefined);
  const fromStart = plan({ storedStages: all, rebuild: true, upToDate: true });
  assert.equal(fromStart.upToDate, false);
  assert.deepEqual(actions(fromStart), STAGES.map((s) => `${s}:run`));
  assert.deepEqual(plan({ storedStages: all, rebuild: 'fetch' }).resume, undefined, 'fetching again means unpacking again');
  const output = plan({ storedStages: all, rebuild: 'output', upToDate: true });
  assert.equal(output.upToDate, false, 'outputs up to date are written again');
  assert.deepEqual(output.run.map((s) => s.name), ['output']);
});

test('outputs up to date for the output key: every stage reused from them, nothing runs', () => {
  const asked: string[] = [];
  const p = plan({ storedStages: ['finalize'], outputsUpToDate: (key) => (asked.push(key), true) });
  assert.deepEqual(asked, [keys.output]);
  assert.equal(p.upToDate, true);
  assert.equal(p.resume, undefined);
  assert.deepEqual(p.stages.map((s) => [s.name, s.action, s.from]), STAGES.map((s) => [s, 'reuse', 'outputs']));
  assert.deepEqual(p.run, []);
});
