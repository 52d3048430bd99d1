/** build.seed: the one seed of every generated id; disk.seed is its old name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { stageKeys } from '../../src/pipeline/stages.ts';
import { collectHooks } from '../../src/pipeline/hooks.ts';
import { rootIdentifiers } from '../../src/outputs/fstab.ts';
import { oneDebPlan } from '../helpers/fixtures.ts';

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n\n[board]\nname = "generic-x86_64"\n\n[output]\nformat = ["disk"]\n';

function loaded(t: import('node:test').TestContext, toml: string, sets: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-seed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return { dir, loaded: loadConfig({ dir, env: {}, sets }) };
}

test("build.seed defaults to the image's identity; disk.seed, its old name, sets it", (t) => {
  assert.equal(loaded(t, BASE).loaded.config['build.seed'], 'kiln debian bookworm amd64 generic-x86_64 image');
  assert.equal(loaded(t, BASE, ['output.name=web']).loaded.config['build.seed'], 'kiln debian bookworm amd64 generic-x86_64 web');
  assert.equal(loaded(t, `${BASE}\n[disk]\nseed = "old"\n`).loaded.config['build.seed'], 'old');
  assert.equal(loaded(t, `${BASE}\n[disk]\nseed = "old"\n\n[build]\nseed = "new"\n`).loaded.config['build.seed'], 'new');
});

test("changing build.seed changes the output stage's key and the root's ids, nothing before", (t) => {
  const plan = oneDebPlan();
  const keys = (sets: string[]) => {
    const { dir, loaded: l } = loaded(t, BASE, sets);
    return { keys: stageKeys({ loaded: l, plan, hooks: collectHooks(dir, l.config), sourceDateEpoch: 1_700_000_000, kilnVersion: 't', overlays: {}, hidePrivate: (v) => String(v) }), root: rootIdentifiers(l.config) };
  };
  const a = keys([]);
  const b = keys(['build.seed=another']);
  assert.deepEqual(Object.keys(a.keys).filter((k) => a.keys[k as keyof typeof a.keys] !== b.keys[k as keyof typeof b.keys]), ['output']);
  assert.ok(a.root && b.root);
  assert.notEqual(a.root.partUuid, b.root.partUuid);
  assert.notEqual(a.root.filesystemUuid, b.root.filesystemUuid);
  assert.deepEqual(keys(['disk.seed=another']).root, b.root, 'disk.seed still works');
});
