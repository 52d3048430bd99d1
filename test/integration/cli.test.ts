/** The informational verbs through the real CLI, as the unprivileged test user. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';

const skip = skipOrFail(integrationSkipReason());

describe('kiln doctor, config and --help', { skip }, () => {
  test('doctor reports what the rootless path needs, with packages for what is missing', async () => {
    const r = await kiln(['doctor']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok\s+unprivileged user namespaces\s+allowed$/m);
    assert.match(r.stdout, /^ok\s+subordinate ids\s+65536 uids and gids available$/m);
    assert.match(r.stdout, /^ok\s+newuidmap\s+\//m);
    assert.match(r.stdout, /^ok\s+run aarch64 programs\s+/m);
    for (const line of r.stdout.split('\n').filter((l) => /^(MISSING|missing)/.test(l))) {
      assert.ok(r.stdout.includes(`${line}\n         install: Debian/Ubuntu `), `a missing tool names its packages: ${line}`);
    }
  });

  test('config prints the merged settings with their origins; --json for tools', async () => {
    const dir = imageDir('[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "aarch64"\nmirror = "http://127.0.0.1:1/debian"\n');
    const r = await kiln(['config', '-C', dir, '--set', 'packages.install=vim,curl']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^architecture = "arm64"\s+# .*kiln\.toml:4$/m);
    assert.match(r.stdout, /^install = \["vim", "curl"\]\s+# --set$/m);
    assert.match(r.stdout, /^base = "minimal"\s+# default$/m);
    const json = await kiln(['config', '-C', dir, '--json']);
    assert.equal(JSON.parse(json.stdout).settings['distribution.architecture'].value, 'arm64');
  });

  test('build --help lists every setting from the table', async () => {
    const r = await kiln(['build', '--help']);
    assert.equal(r.code, 0);
    for (const key of ['distribution.mirror', 'packages.base', 'output.format', 'build.binfmt', 'build.native-perl']) assert.match(r.stdout, new RegExp(`^  ${key.replace('.', '\\.')} `, 'm'));
  });

  test('an unknown command is a usage error, exit 2', async () => {
    const r = await kiln(['biuld']);
    assert.equal(r.code, 2);
  });
});
