/**
 * Stage keys are the image's public identity (the manifest's key, the SBOM's
 * namespace and version): the per-cache secret may enter them only through
 * values that are actually private.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { oneDebPlan } from '../helpers/fixtures.ts';
import { stageKeys } from '../../src/pipeline/stages.ts';
import { collectHooks } from '../../src/pipeline/hooks.ts';

const plan = oneDebPlan();

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n';

/** Keys as two caches (two secrets) make them: a keyed hash, as build.ts's. */
function keysIn(cacheSecret: string, toml: string, sets: string[] = [], privateToml?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-repro-keys-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  if (privateToml !== undefined) writeFileSync(join(dir, 'kiln.private.toml'), privateToml);
  const loaded = loadConfig({ dir, env: {}, sets });
  const hidePrivate = (v: unknown) => createHmac('sha256', cacheSecret).update(JSON.stringify(v)).digest('hex');
  return stageKeys({ loaded, plan, hooks: collectHooks(dir, loaded.config), sourceDateEpoch: 1_700_000_000, kilnVersion: '0.0.0-test', overlays: {}, hidePrivate });
}

const USERS = `${BASE}\n[[user]]\nname = "pi"\nuid = 1001\ngroups = ["sudo"]\n`;

test('with no secret set, two caches give the same keys (users.accounts, unset passwords and all)', () => {
  assert.deepEqual(keysIn('cache A', BASE), keysIn('cache B', BASE));
  assert.deepEqual(keysIn('cache A', USERS), keysIn('cache B', USERS), 'a [[user]] without a password is public');
  // A public field of a user still keys customize, in the clear.
  assert.notEqual(keysIn('cache A', USERS).customize, keysIn('cache A', USERS.replace('1001', '1002')).customize);
});

test('a set password keys the stages through the cache secret: stable in one cache, changing with the password, not the same across caches', () => {
  for (const [toml, other] of [
    [`${USERS}password-hash = "$6$salt$one"\n`, `${USERS}password-hash = "$6$salt$two"\n`],
    [`${BASE}\n[system]\nroot-password = "one"\n`, `${BASE}\n[system]\nroot-password = "two"\n`],
  ] as const) {
    const a = keysIn('cache A', toml);
    assert.deepEqual(keysIn('cache A', toml), a, 'stable within one cache');
    assert.notEqual(keysIn('cache A', other).customize, a.customize, 'a new password is a new key');
    assert.notEqual(keysIn('cache B', toml).customize, a.customize, 'another cache, another key (the password cannot be guessed from it)');
    assert.equal(keysIn('cache B', toml).unpack, a.unpack, 'stages before customize are untouched');
  }
});

test('a value from the private layer goes through the keyed hash', () => {
  const priv = '[system]\nhostname = "secret-host"\n';
  const a = keysIn('cache A', BASE, [], priv);
  assert.deepEqual(keysIn('cache A', BASE, [], priv), a);
  assert.notEqual(keysIn('cache B', BASE, [], priv).customize, a.customize);
});
