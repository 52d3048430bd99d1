import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { stageKeys, settingStage, TREE_STAGES } from '../../src/pipeline/stages.ts';
import { collectHooks } from '../../src/pipeline/hooks.ts';
import { throwsUserError, oneDebPlan } from '../helpers/fixtures.ts';

const plan = oneDebPlan();

function image(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-stages-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n';

function keysFor(dir: string, sets: string[] = [], sde = 1_700_000_000, p = plan) {
  const loaded = loadConfig({ dir, env: {}, sets });
  return stageKeys({ loaded, plan: p, hooks: collectHooks(dir, loaded.config), sourceDateEpoch: sde, kilnVersion: '0.0.0-test', overlays: {}, hidePrivate: (v) => `hidden:${JSON.stringify(v).length}` });
}

/** The stages whose key differs between two sets of keys. */
function changed(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}

test('each setting belongs to the stage that reads it; build.* changes no stage', () => {
  assert.equal(settingStage('packages.install'), 'resolve');
  assert.equal(settingStage('system.hostname'), 'customize');
  assert.equal(settingStage('prune.remove'), 'prune');
  assert.equal(settingStage('output.format'), 'output');
  assert.equal(settingStage('build.jobs'), undefined);
  const dir = image({ 'kiln.toml': BASE });
  const base = keysFor(dir);
  assert.deepEqual(Object.keys(base), [...TREE_STAGES, 'output']);
  assert.deepEqual(changed(base, keysFor(dir)), [], 'keys are stable');
  assert.deepEqual(changed(base, keysFor(dir, ['build.jobs=3', 'build.workspace=disk'])), []);
  assert.deepEqual(changed(base, keysFor(dir, ['system.hostname=other'])), ['customize', 'prune', 'finalize', 'output']);
  assert.deepEqual(changed(base, keysFor(dir, ['prune.remove=/usr/share/doc/*'])), ['prune', 'finalize', 'output']);
  assert.deepEqual(changed(base, keysFor(dir, ['output.format=tar.zst'])), ['output']);
  assert.deepEqual(changed(base, keysFor(dir, ['packages.install=vim'])), [...TREE_STAGES, 'output'], 'resolve settings key the whole tree');
  const newer = { ...plan, packages: [{ ...plan.packages[0]!, version: '12.5', sha256: 'b'.repeat(64) }] };
  assert.deepEqual(changed(base, keysFor(dir, [], undefined, newer)), [...TREE_STAGES, 'output'], 'a new package version changes everything');
  assert.deepEqual(changed(base, keysFor(dir, [], 1_800_000_000)), [...TREE_STAGES, 'output'], 'SOURCE_DATE_EPOCH is recorded from unpack on');
});

test('changing only a hook changes its stage and those after it', () => {
  const files = { 'kiln.toml': BASE, 'hooks/prune/10-note': 'echo one > "$KILN_ROOT/etc/note"\n' };
  const a = keysFor(image(files));
  const b = keysFor(image({ ...files, 'hooks/prune/10-note': 'echo two > "$KILN_ROOT/etc/note"\n' }));
  assert.deepEqual(changed(a, b), ['prune', 'finalize', 'output']);
  const c = keysFor(image({ ...files, 'hooks/customize/10-x.chroot': 'true\n' }));
  assert.deepEqual(changed(a, c), ['customize', 'prune', 'finalize', 'output']);
  const inline = keysFor(image({ 'kiln.toml': `${BASE}\n[[hook]]\nstage = "finalize"\nname = "20-x"\nrun = "true"\n`, 'hooks/prune/10-note': files['hooks/prune/10-note'] }));
  assert.deepEqual(changed(a, inline), ['finalize', 'output']);
});

test('hooks: user hooks replace built-in ones of the same name; order is lexical; mistakes are user errors', () => {
  const dir = image({
    'kiln.toml': `${BASE}\n[[hook]]\nstage = "finalize"\nname = "05-first"\nrun = "true"\n`,
    'hooks/finalize/50-machine-id': '',
    'hooks/finalize/70-last.chroot': 'true\n',
    'hooks/finalize/.hidden': 'x',
    'hooks/finalize/60-backup~': 'x',
  });
  const loaded = loadConfig({ dir, env: {} });
  const finalize = collectHooks(dir, loaded.config).filter((h) => h.stage === 'finalize');
  assert.deepEqual(finalize.map((h) => `${h.name}:${h.source}`), ['05-first:inline', '50-machine-id:directory', '70-last.chroot:directory']);
  assert.equal(finalize.at(-1)?.chroot, true);
  throwsUserError(() => collectHooks(image({ 'hooks/install/10-x': '' }), loaded.config), /no stage is called "install"/);
  const twice = image({ 'kiln.toml': `${BASE}\n[[hook]]\nstage = "prune"\nname = "10-x"\nrun = "true"\n`, 'hooks/prune/10-x': '' });
  throwsUserError(() => collectHooks(twice, loadConfig({ dir: twice, env: {} }).config), /two hooks named prune\/10-x/);
});
