/**
 * Alpine as built-in data, through the configuration: releases by shape
 * (edge, vX.Y), architecture aliases, the base sets it offers, the
 * repositories' URLs below a mirror ($release/$repo/$arch) or a whole
 * pattern, and testing on edge only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { apkSources } from '../../src/formats/apk/sources.ts';
import { UserError } from '../../src/util/errors.ts';

function load(t: { after(fn: () => void): void }, body: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-apk-catalog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kiln.toml'), `[distribution]\nname = "alpine"\n${body}`);
  return () => loadConfig({ dir, env: {} });
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('no problems');
}

test('an Alpine config: the arm64 alias, its default mirror, and the repository URLs below it', (t) => {
  const { config, distribution } = load(t, 'release = "v3.21"\narchitecture = "arm64"\n\n[packages]\nbase = "tiny"\n')();
  assert.equal(distribution.format, 'apk');
  assert.equal(config['distribution.architecture'], 'aarch64');
  assert.equal(config['distribution.mirror'], 'https://dl-cdn.alpinelinux.org/alpine');
  assert.deepEqual(
    apkSources(config).map((s) => [s.url, s.line]),
    [
      ['https://dl-cdn.alpinelinux.org/alpine/v3.21/main/aarch64', 'https://dl-cdn.alpinelinux.org/alpine/v3.21/main'],
      ['https://dl-cdn.alpinelinux.org/alpine/v3.21/community/aarch64', 'https://dl-cdn.alpinelinux.org/alpine/v3.21/community'],
    ],
  );
});

test('a mirror with placeholders is the whole pattern', (t) => {
  const { config } = load(t, 'release = "edge"\narchitecture = "x86_64"\nmirror = "http://127.0.0.1:9/m/$arch/$release-$repo"\nrepositories = ["main", "testing"]\n')();
  assert.deepEqual(apkSources(config).map((s) => s.url), ['http://127.0.0.1:9/m/x86_64/edge-main', 'http://127.0.0.1:9/m/x86_64/edge-testing']);
});

test('testing exists on edge only', (t) => {
  const { config } = load(t, 'release = "v3.20"\narchitecture = "x86_64"\nrepositories = ["main", "testing"]\n')();
  assert.throws(() => apkSources(config), (e: unknown) => e instanceof UserError && /testing repository exists on edge only, not v3\.20/.test(e.message));
});

test('a release not shaped as Alpine names them, and a base set Alpine does not have, are config problems', (t) => {
  const found = problems(load(t, 'release = "3.21"\narchitecture = "x86_64"\n\n[packages]\nbase = "essential"\n'));
  assert.ok(found.some((p) => /kiln\.toml:3: distribution\.release: "3\.21" is not an Alpine release; use "edge" or a stable branch such as "v3\.21"/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:7: packages\.base: Alpine Linux has no base set "essential"; choose minimal, tiny, none/.test(p)), found.join('\n'));
});
