/**
 * Plans are typed by their format: a format's code reads its own plan data
 * without casts, and one format's plan (or unpacked state) given to another
 * format's code is a compile error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { typeErrors } from '../helpers/typecheck.ts';

const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${path}`, import.meta.url)));

test("a format's plan data is typed, and one format's plan or unpacked state does not pass for another's", () => {
  const errors = typeErrors(
    [
      `import { FORMATS, installerFor, type AnyPlan } from ${src('formats/index.ts')};`,
      `import type { InstallEnvironment } from ${src('formats/index.ts')};`,
      `import type { DebInstallPlan } from ${src('formats/deb/plan.ts')};`,
      `import type { UnpackedPacman } from ${src('formats/pacman/unpack.ts')};`,
      'declare const deb: DebInstallPlan;',
      'declare const env: InstallEnvironment;',
      'declare const any: AnyPlan;',
      'declare const unpackedPacman: UnpackedPacman[];',
      // Fine: the plan's own data, typed; a plan of either format bound to its own format.
      'export const mirror: string = deb.extra.mirror;',
      "export const multiArch: 'no' | 'same' | 'foreign' | 'allowed' | undefined = deb.packages[0]?.extra.multiArch;",
      'export const installer = installerFor(any, env);',
      'export const sources = any.format === "pacman" ? any.extra.sources : [];',
      // Not fine, one error each:
      'export const wrongData = deb.extra.sources;',
      'export const wrongPlan = FORMATS.pacman.unpack({ ...env, plan: deb });',
      'export const wrongState = FORMATS.deb.configure({ ...env, plan: deb }, unpackedPacman);',
      'export const unnarrowed = any.extra.mirror;',
    ].join('\n') + '\n',
  );
  assert.equal(errors.length, 4, errors.join('\n'));
  assert.match(errors[0] as string, /Property 'sources' does not exist on type 'DebPlanExtra'/);
  assert.match(errors[1] as string, /'DebInstallPlan' is not assignable to type 'PacmanInstallPlan'/);
  assert.match(errors[2] as string, /'UnpackedPacman\[\]' is not assignable to parameter of type 'UnpackedDeb\[\]'/);
  assert.match(errors[3] as string, /Property 'mirror' does not exist on type 'DebPlanExtra \| PacmanPlanExtra \| ApkPlanExtra'/);
});
