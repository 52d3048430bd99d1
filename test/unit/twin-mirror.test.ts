/**
 * Where native twins come from (twinMirror, twinKeyring): build.twin-mirror
 * when set, else the target's mirror, or the distribution's default for the
 * host's architecture where that default differs by architecture (Ubuntu's
 * ports beside its archive). Runs on an x86_64 host, as CI does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { findDistribution, hostMachine } from '../../src/catalog/index.ts';
import { twinKeyring, twinMirror } from '../../src/formats/twins.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function twins(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-twin-mirror-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'kiln.toml'), toml);
  const { config } = loadConfig({ dir, env: {} });
  const distribution = findDistribution(config['distribution.name']);
  assert.ok(distribution);
  return { mirror: twinMirror(config, distribution), keyring: twinKeyring(config) };
}

const x86 = hostMachine() === 'x86_64' ? false : 'the defaults for the host architecture are checked on an x86_64 host';

test("Ubuntu arm64 from its default ports mirror: the twins come from the archive's amd64", { skip: x86 }, () => {
  const t = twins('[distribution]\nname = "ubuntu"\nrelease = "noble"\narchitecture = "arm64"\nkeyring = []\n');
  assert.equal(t.mirror, findDistribution('ubuntu')?.defaultMirror('amd64'));
  assert.notEqual(t.mirror, findDistribution('ubuntu')?.defaultMirror('arm64'));
});

test('a mirror set by the user serves the twins too, unless build.twin-mirror says otherwise', () => {
  const keys = mkdtempSync(join(tmpdir(), 'kiln-twin-keys-'));
  dirs.push(keys);
  const [alarm, arch] = [join(keys, 'alarm.gpg'), join(keys, 'arch.gpg')];
  for (const k of [alarm, arch]) writeFileSync(k, '');
  const base = `[distribution]\nname = "archlinuxarm"\narchitecture = "aarch64"\nmirror = "http://127.0.0.1:9/alarm/$arch/$repo"\nkeyring = ["${alarm}"]\n`;
  assert.deepEqual(twins(base), { mirror: 'http://127.0.0.1:9/alarm/$arch/$repo', keyring: [alarm] });
  assert.deepEqual(twins(`${base}[build]\ntwin-mirror = "http://127.0.0.1:9/arch/$repo/os/$arch"\ntwin-keyring = ["${arch}"]\n`), {
    mirror: 'http://127.0.0.1:9/arch/$repo/os/$arch',
    keyring: [arch],
  });
});
