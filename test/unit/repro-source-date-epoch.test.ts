/**
 * build.source-date-epoch: a number, "release" or "newest-package"; its
 * environment layer is SOURCE_DATE_EPOCH, and where the value came from is
 * kept for the manifest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configToJson, loadConfig } from '../../src/config/index.ts';
import { resolveSourceDateEpoch } from '../../src/pipeline/source-date-epoch.ts';
import { settingsEnvironment } from '../../src/pipeline/hooks.ts';
import type { InstallPlan } from '../../src/formats/types.ts';
import { throwsUserError } from '../helpers/fixtures.ts';

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n';

function load(toml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-repro-sde-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return loadConfig({ dir, env });
}

const deb: InstallPlan = { format: 'deb', packages: [], repositoryDate: 1_700_000_000, mirrors: ['http://127.0.0.1:9/debian'], extra: {}, warnings: [] };

test('the default is the repository date; SOURCE_DATE_EPOCH is the setting\'s environment layer, shown with its origin', () => {
  const plain = load(BASE);
  assert.equal(plain.config['build.source-date-epoch'], 'release');
  assert.deepEqual(resolveSourceDateEpoch('release', plain.origins['build.source-date-epoch'] ?? 'default', deb), {
    value: 1_700_000_000,
    from: "release: the repository's date (Debian: its Release file's; pacman: the newest package's) (default)",
  });
  const fromEnv = load(BASE, { SOURCE_DATE_EPOCH: '1600000000' });
  assert.equal(fromEnv.config['build.source-date-epoch'], 1_600_000_000);
  assert.deepEqual(configToJson(fromEnv).settings['build.source-date-epoch'], { value: 1_600_000_000, origin: '$SOURCE_DATE_EPOCH' });
  assert.deepEqual(resolveSourceDateEpoch(1_600_000_000, '$SOURCE_DATE_EPOCH', deb), { value: 1_600_000_000, from: '$SOURCE_DATE_EPOCH' });
  // The file sets it; the environment, a later layer, wins; an empty variable is no value.
  const inFile = `${BASE}\n[build]\nsource-date-epoch = 1500000000\n`;
  assert.equal(load(inFile).config['build.source-date-epoch'], 1_500_000_000);
  assert.match(load(inFile).origins['build.source-date-epoch'] ?? '', /kiln\.toml:\d+$/);
  assert.equal(load(inFile, { SOURCE_DATE_EPOCH: '1600000000' }).config['build.source-date-epoch'], 1_600_000_000);
  assert.equal(load(inFile, { SOURCE_DATE_EPOCH: '' }).config['build.source-date-epoch'], 1_500_000_000);
  assert.equal(load(BASE, { KILN_BUILD_SOURCE_DATE_EPOCH: '1600000000' }).config['build.source-date-epoch'], 'release', 'one variable, the one other tools read');
  assert.equal(settingsEnvironment(fromEnv.config).KILN_BUILD_SOURCE_DATE_EPOCH, '1600000000');
});

test('a malformed SOURCE_DATE_EPOCH or setting is a user error, not a silent fallback', () => {
  for (const bad of ['yesterday', '-5', '1.5', '17e8']) {
    assert.throws(() => load(BASE, { SOURCE_DATE_EPOCH: bad }), (e: unknown) => e instanceof ConfigError && /\$SOURCE_DATE_EPOCH: build\.source-date-epoch: expected a number of seconds/.test(e.message));
  }
  assert.throws(() => load(`${BASE}\n[build]\nsource-date-epoch = "today"\n`), (e: unknown) => e instanceof ConfigError && /kiln\.toml:\d+: build\.source-date-epoch/.test(e.message));
});

test('"newest-package" is the newest build date where the index carries them (pacman), and a clear error where not (Debian)', () => {
  const pacman: InstallPlan = { ...deb, format: 'pacman', repositoryDate: 1_650_000_000, newestPackageDate: 1_650_000_000 };
  assert.equal(load(`${BASE}\n[build]\nsource-date-epoch = "newest-package"\n`).config['build.source-date-epoch'], 'newest-package');
  assert.deepEqual(resolveSourceDateEpoch('newest-package', 'kiln.toml:8', pacman), { value: 1_650_000_000, from: "newest-package: the newest package's build date (kiln.toml:8)" });
  throwsUserError(() => resolveSourceDateEpoch('newest-package', 'kiln.toml:8', deb), /kiln\.toml:8: build\.source-date-epoch = "newest-package": the deb index does not give the packages' build dates/, /"release"/);
});
