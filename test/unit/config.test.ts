import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, formatConfig, configToJson } from '../../src/config/index.ts';
import { tomlKeyLines } from '../../src/config/toml-lines.ts';

const MIRROR = 'http://127.0.0.1:9/debian';

function dirWith(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return dir;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert.equal(err.exitCode, 2);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('values from kiln.toml carry file:line origins; the rest are defaults', () => {
  const dir = dirWith(`[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "arm64"\nmirror = "${MIRROR}"\n\n[packages]\ninstall = ["iputils-ping"]\n`);
  const loaded = loadConfig({ dir, env: {} });
  assert.equal(loaded.config['distribution.architecture'], 'arm64');
  assert.deepEqual(loaded.config['packages.install'], ['iputils-ping']);
  assert.equal(loaded.config['packages.base'], 'minimal');
  assert.match(loaded.origins['distribution.architecture'], /kiln\.toml:4$/);
  assert.match(loaded.origins['packages.install'], /kiln\.toml:8$/);
  assert.equal(loaded.origins['packages.base'], 'default');
});

test('environment overrides the file and --set overrides both', () => {
  const dir = dirWith(`[distribution]\nname = "debian"\narchitecture = "arm64"\nmirror = "${MIRROR}"\n`);
  const env = { KILN_DISTRIBUTION_ARCHITECTURE: 'armhf', KILN_PACKAGES_INSTALL: 'a, b c' };
  const fromEnv = loadConfig({ dir, env });
  assert.equal(fromEnv.config['distribution.architecture'], 'armhf');
  assert.equal(fromEnv.origins['distribution.architecture'], '$KILN_DISTRIBUTION_ARCHITECTURE');
  assert.deepEqual(fromEnv.config['packages.install'], ['a', 'b', 'c']);
  const fromSet = loadConfig({ dir, env, sets: ['distribution.architecture=x86_64'] });
  assert.equal(fromSet.config['distribution.architecture'], 'amd64', 'aliases become the distribution’s own name');
  assert.equal(fromSet.origins['distribution.architecture'], '--set');
});

test('every problem is reported at once, each as file:line: key: problem', () => {
  const dir = dirWith(`[distribution]\nname = "debian"\nrelase = "bookworm"\narchitecture = "sparc"\nmirror = "${MIRROR}"\n\n[packages]\nbase = "tiny"\ninstall = "vim"\n\n[bogus]\nx = 1\n`);
  const found = problems(() => loadConfig({ dir, env: {} }));
  assert.ok(found.some((p) => /kiln\.toml:3: distribution\.relase: unknown setting; did you mean distribution\.release( or [a-z.]+)?\?/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:8: packages\.base: Debian has no base set "tiny"; choose essential, minimal, standard, none/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:9: packages\.install: expected a list of strings/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:12: bogus\.x: unknown setting/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:4: distribution\.architecture: unknown architecture "sparc" for Debian; known: amd64, arm64/.test(p)), found.join('\n'));
});

test('a TOML syntax error names line and column', () => {
  const dir = dirWith(`[distribution]\nname = "debian\n`);
  const [only] = problems(() => loadConfig({ dir, env: {} }));
  assert.match(only ?? '', /kiln\.toml:2:\d+: /);
});

test('a bad --set and a bad environment value are errors too', () => {
  const dir = dirWith(`[distribution]\nmirror = "${MIRROR}"\n`);
  const found = problems(() => loadConfig({ dir, env: { KILN_BUILD_JOBS: 'many' }, sets: ['packages.bse=minimal', 'nonsense'] }));
  assert.ok(found.some((p) => p.startsWith('$KILN_BUILD_JOBS: build.jobs: expected a whole number')), found.join('\n'));
  assert.ok(found.some((p) => /--set packages\.bse=minimal: unknown setting "packages\.bse"; did you mean packages\.base\?/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('--set nonsense: expected KEY=VALUE')), found.join('\n'));
});

test('secrets are never shown by kiln config', () => {
  const dir = dirWith(`[distribution]\nmirror = "${MIRROR}"\n[system]\nroot-password = "hunter2"\n`);
  const loaded = loadConfig({ dir, env: {} });
  assert.equal(loaded.config['system.root-password'], 'hunter2');
  assert.doesNotMatch(formatConfig(loaded), /hunter2/);
  assert.equal(configToJson(loaded).settings['system.root-password']?.value, '(secret)');
  assert.match(formatConfig(loaded), /^root-password = "\(secret\)"\s+# .*kiln\.toml:4$/m);
});

test('tomlKeyLines finds keys under headers, dotted keys and after multi-line strings', () => {
  const lines = tomlKeyLines(`# c\n[a]\nx = 1\ny.z = """\nmulti\n"""\nw = 2\n[b . "c"]\nk = 'v'\n`);
  assert.equal(lines.get('a.x'), 3);
  assert.equal(lines.get('a.y.z'), 4);
  assert.equal(lines.get('a.w'), 7);
  assert.equal(lines.get('b.c.k'), 9);
});

test('Arch family: aliases, mirror pattern default, repositories, per-repository mirrors and extra repositories', () => {
  const dir = dirWith(
    `[distribution]\nname = "alarm"\narchitecture = "arm64"\nrepository-mirrors = { alarm = "http://127.0.0.1:9/alarm/$arch" }\n\n[[distribution.extra-repositories]]\nname = "mine"\nserver = "http://127.0.0.1:9/$repo/$arch"\nkeyring = ["/dev/null"]\narchitectures = ["aarch64"]\n`,
  );
  const { config, distribution, origins } = loadConfig({ dir, env: {} });
  assert.equal(distribution.name, 'archlinuxarm');
  assert.equal(config['distribution.architecture'], 'aarch64');
  assert.equal(config['distribution.release'], 'rolling');
  assert.equal(config['distribution.mirror'], 'http://mirror.archlinuxarm.org/$arch/$repo');
  assert.deepEqual(config['distribution.repositories'], ['core', 'extra', 'alarm']);
  assert.deepEqual(config['distribution.repository-mirrors'], { alarm: 'http://127.0.0.1:9/alarm/$arch' });
  assert.deepEqual(config['distribution.extra-repositories'], [{ name: 'mine', server: 'http://127.0.0.1:9/$repo/$arch', keyring: ['/dev/null'], architectures: ['aarch64'] }]);
  assert.match(origins['distribution.extra-repositories'], /kiln\.toml:6$/);
});

test('Arch family mistakes: a release, no mirror for a port without one, a bad extra repository, pacman settings on Debian', () => {
  const loong = problems(() => loadConfig({ dir: dirWith(`[distribution]\nname = "loongarch"\nrelease = "2024"\n`), env: {} }));
  assert.ok(loong.some((p) => /distribution\.release: Loong Arch Linux is a rolling release/.test(p)), loong.join('\n'));
  assert.ok(loong.some((p) => /distribution\.mirror: Loong Arch Linux has no default mirror; set distribution\.mirror to a mirror URL pattern with \$repo and \$arch/.test(p)), loong.join('\n'));
  const bad = problems(() => loadConfig({ dir: dirWith(`[distribution]\nname = "arch"\nextra-repositories = [{ name = "x", url = "http://h" }]\n`), env: {} }));
  assert.ok(bad.some((p) => /kiln\.toml:3: distribution\.extra-repositories: item 1: unknown field "url"; known: name, server/.test(p)), bad.join('\n'));
  const deb = problems(() => loadConfig({ dir: dirWith(`[distribution]\nname = "debian"\nmirror = "${MIRROR}"\nkeyring-bootstrap = "trust-first-download"\n`), env: {} }));
  assert.ok(deb.some((p) => /kiln\.toml:4: distribution\.keyring-bootstrap: only for pacman distributions/.test(p)), deb.join('\n'));
});
