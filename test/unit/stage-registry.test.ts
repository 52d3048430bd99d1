/**
 * One stage module per keyed stage, under its own name, in the build's
 * order; a registry that leaves a stage out (or files a module under another
 * stage's name) does not compile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { STAGE_MODULES, STAGE_ORDER } from '../../src/pipeline/stages/index.ts';
import { KEYED_STAGES, STAGES, settingStage } from '../../src/pipeline/stages.ts';
import { typeErrors } from '../helpers/typecheck.ts';

const stagesDir = fileURLToPath(new URL('../../src/pipeline/stages/', import.meta.url));

test('every stage after fetch has a module, named as its entry, in the order of STAGES', () => {
  assert.deepEqual([...KEYED_STAGES], STAGES.filter((s) => s !== 'resolve' && s !== 'fetch'));
  assert.deepEqual(STAGE_ORDER.map((m) => m.name), [...KEYED_STAGES]);
  for (const [name, module] of Object.entries(STAGE_MODULES)) assert.equal(module.name, name);
  assert.equal(typeof STAGE_MODULES.output.run, 'function');
});

test('an overlay belongs to the stage module that copies it in', () => {
  assert.deepEqual(STAGE_ORDER.filter((m) => m.reads.overlay).map((m) => [m.name, m.reads.overlay]), [['unpack', 'overlay.skeleton'], ['customize', 'overlay.extra']]);
  assert.equal(settingStage('overlay.skeleton'), 'unpack');
  assert.equal(settingStage('overlay.extra'), 'customize');
  assert.equal(settingStage('overlay.owner'), 'customize');
});

test('a registry without a module for every stage, or with one under the wrong name, does not compile', () => {
  const imports =
    `import type { StageRegistry } from ${JSON.stringify(`${stagesDir}index.ts`)};\n` +
    ['unpack', 'configure', 'customize', 'prune', 'finalize', 'output'].map((s) => `import { ${s} } from ${JSON.stringify(`${stagesDir}${s}.ts`)};\n`).join('');
  const missing = typeErrors(`${imports}export const r: StageRegistry = { unpack, configure, customize, prune, finalize };\nvoid output;\n`);
  assert.equal(missing.length, 1, missing.join('\n'));
  assert.match(missing[0] as string, /Property 'output' is missing/);
  const misfiled = typeErrors(`${imports}export const r: StageRegistry = { unpack, configure, customize, prune: finalize, finalize, output };\nvoid prune;\n`);
  assert.equal(misfiled.length, 1, misfiled.join('\n'));
  assert.match(misfiled[0] as string, /"finalize"' is not assignable to type '"prune"'/);
});
