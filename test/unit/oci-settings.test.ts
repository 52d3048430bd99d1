/**
 * The [oci] settings that would give a broken image are refused at the
 * config check, one line each: a tag that no OCI reference can be, an
 * environment variable name with "=" in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/index.ts';

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n';

function load(oci: string): { problems: string[]; config?: Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-oci-settings-'));
  writeFileSync(join(dir, 'kiln.toml'), `${BASE}\n[oci]\n${oci}\n`);
  try {
    return { problems: [], config: loadConfig({ dir, env: {} }).config as unknown as Record<string, unknown> };
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { problems: err.problems };
  }
}

test('oci.tag: a name an OCI layout can hold, or one line', () => {
  for (const tag of ['latest', '1.0', 'bookworm-arm64', 'v1.2.3_rc1', 'kiln/debian:1']) assert.equal(load(`tag = "${tag}"`).config?.['oci.tag'], tag, tag);
  for (const tag of ['my tag', '-latest', 'latest.', 'a//b', '']) {
    const { problems } = load(`tag = "${tag}"`);
    assert.equal(problems.length, 1, `${tag}: ${problems.join('\n')}`);
    assert.match(problems[0]!, /kiln\.toml:8: oci\.tag: expected a tag such as latest or 1\.0/);
  }
});

test('oci.env: names without "=", or one line at the name', () => {
  assert.deepEqual(load('env = { LANG = "C.UTF-8", PATH = "/bin" }').config?.['oci.env'], { LANG: 'C.UTF-8', PATH: '/bin' });
  const { problems } = load('env = { "A=B" = "x" }');
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /oci\.env.*"A=B" is not an environment variable name/);
});
