/**
 * Every section of the settings table belongs to a stage (or, declared so, to
 * none): a section missing from the table of section stages is a compile
 * error, not a setting that silently keys no stage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { SETTING_KEYS } from '../../src/config/index.ts';
import { settingStage } from '../../src/pipeline/stages.ts';
import { typeErrors } from '../helpers/typecheck.ts';

const stages = fileURLToPath(new URL('../../src/pipeline/stages.ts', import.meta.url));
/** The settings table's sections, each given some stage (the type checks the keys, not which stage). */
const sections = [...new Set(SETTING_KEYS.map((k) => k.split('.')[0] as string))];
const table = (names: string[]) => `{ ${names.map((n) => `${JSON.stringify(n)}: 'resolve'`).join(', ')} }`;

test('a table of section stages that leaves out a declared section does not compile', () => {
  const errors = typeErrors(
    `import type { SectionStages } from ${JSON.stringify(stages)};\n` +
      `export const missing: SectionStages = ${table(sections.filter((n) => n !== 'prune'))};
`,
  );
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0] as string, /Property 'prune' is missing/);
});

test('a table naming a section the settings table does not declare does not compile', () => {
  const errors = typeErrors(
    `import type { SectionStages } from ${JSON.stringify(stages)};\n` +
      `export const extra: SectionStages = ${table([...sections, 'kernel'])};
`,
  );
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0] as string, /'"?kernel"?' does not exist/);
});

test('every setting outside build.*, hooks.* and lock.* keys a stage', () => {
  const unkeyed = SETTING_KEYS.filter((k) => settingStage(k) === undefined);
  assert.deepEqual(unkeyed.filter((k) => !k.startsWith('build.') && !k.startsWith('hooks.') && !k.startsWith('lock.')), []);
});
