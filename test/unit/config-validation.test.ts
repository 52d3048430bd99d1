/**
 * Values that would do harm later (a name that is a path, a host name with a
 * newline, root's ids, a mirror kiln cannot fetch from) are refused by their
 * kinds, at the config check, with the line they are on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, SETTINGS } from '../../src/config/index.ts';
import { collectHooks, chrootHookPath } from '../../src/pipeline/hooks.ts';
import { outputPath, manifestPath } from '../../src/outputs/index.ts';
import { UserError } from '../../src/util/errors.ts';

const BASE = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n';

function dirWith(toml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-validation-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return dir;
}

function problems(toml: string): string[] {
  try {
    loadConfig({ dir: dirWith(toml), env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

function has(found: string[], pattern: RegExp): void {
  assert.ok(found.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n${found.join('\n')}`);
}

const parse = (key: keyof typeof SETTINGS, value: unknown) => SETTINGS[key].kind.parse(value, false);
const accepted = (key: keyof typeof SETTINGS, value: unknown) => 'value' in parse(key, value);

test('file names: output.name and [[hook]] name are one name in a directory', () => {
  for (const good of ['image', 'debian-arm64', '10-motd.chroot', '..hidden']) assert.ok(accepted('output.name', good), good);
  for (const bad of ['../image', 'a/b', '.', '..', 'x\0y', '', '/etc/passwd']) assert.ok(!accepted('output.name', bad), JSON.stringify(bad));
  has(problems(`${BASE}[output]\nname = "../../escape"\n`), /kiln\.toml:7: output\.name: "\.\.\/\.\.\/escape" is not a file name: it contains "\/"/);
  has(problems(`${BASE}\n[[hook]]\nstage = "customize"\nrun = "true"\n\n[[hook]]\nstage = "finalize"\nname = "../../../etc/kiln-owned"\nrun = "true"\n`), /kiln\.toml:13: hooks\.inline: item 2: name: "\.\.\/\.\.\/\.\.\/etc\/kiln-owned" is not a file name/);
});

test('host names: RFC 1123 labels only (a newline would be a line of its own in /etc/hosts)', () => {
  for (const good of ['debian', 'build-01.example.org', 'a', `${'a'.repeat(63)}.b`]) assert.ok(accepted('system.hostname', good), good);
  for (const bad of ['pi\n10.0.0.1 evil', 'a/b', '-a', 'a-', 'a..b', 'under_score', `${'a'.repeat(64)}`, `${'a.'.repeat(127)}ab`]) assert.ok(!accepted('system.hostname', bad), JSON.stringify(bad));
  has(problems(`${BASE}[system]\nhostname = "pi\\n10.0.0.1 evil"\n`), /kiln\.toml:7: system\.hostname: "pi\\n10\.0\.0\.1 evil" is not a host name/);
});

test('[[user]] and [[group]]: names as useradd takes them, no uid or gid 0, reported at the line of the field', () => {
  const found = problems(`${BASE}\n[[user]]\nname = "pi"\n\n[[user]]\nname = "ops"\nuid = 0\n\n[[group]]\nname = "Wheel Users"\n`);
  has(found, /kiln\.toml:12: users\.accounts: item 2: uid: uid 0 is the root user's, which the image already has/);
  has(found, /kiln\.toml:15: users\.groups: item 1: name: "Wheel Users" is not a user or group name/);
  has(problems(`${BASE}\n[[group]]\nname = "g"\n\n[[group]]\nname = "h"\ngid = 0\n`), /kiln\.toml:12: users\.groups: item 2: gid: gid 0 is the root group's/);
  for (const good of ['pi', '_svc', 'a-b_c', 'machine$', 'x'.repeat(32)]) assert.ok(accepted('users.accounts', [{ name: good }]), good);
  for (const bad of ['Pi', '1pi', 'a.b', 'a b', 'x'.repeat(33), 'a$b']) assert.ok(!accepted('users.accounts', [{ name: bad }]), bad);
  assert.ok(!accepted('users.accounts', [{ name: 'pi', groups: ['../x'] }]));
  assert.ok(accepted('users.accounts', [{ name: 'pi', group: '1000', uid: 1000 }]));
});

test('mirrors: http or https URLs; pacman patterns have only $repo and $arch, and distribution.mirror needs $repo', () => {
  has(problems(BASE.replace('http://127.0.0.1:9/debian', 'ftp://127.0.0.1/debian')), /kiln\.toml:5: distribution\.mirror: "ftp:\/\/127\.0\.0\.1\/debian": kiln fetches from http and https mirrors, not ftp/);
  has(problems(BASE.replace('http://127.0.0.1:9/debian', '127.0.0.1/debian')), /kiln\.toml:5: distribution\.mirror: "127\.0\.0\.1\/debian" is not a URL/);
  const arch = (extra: string) => problems(`[distribution]\nname = "arch"\nmirror = "http://127.0.0.1:9/$repo/os/$arch"\n${extra}`);
  has(arch('repository-mirrors = { core = "http://127.0.0.1:9/$repository/$arch" }\n'), /kiln\.toml:4: distribution\.repository-mirrors: core: .*unknown placeholder \$repository/);
  has(arch('extra-repositories = [{ name = "x", server = "file:///srv/x" }]\n'), /kiln\.toml:4: distribution\.extra-repositories: item 1: server: .*not file/);
  has(problems('[distribution]\nname = "arch"\nmirror = "http://127.0.0.1:9/os/$arch"\n'), /kiln\.toml:3: distribution\.mirror: .*needs \$repo/);
  assert.ok(accepted('distribution.repository-mirrors', { alarm: 'http://127.0.0.1:9/alarm/$arch' }), 'a mirror for one repository needs no $repo');
});

test('an unknown nested table is named whole, at its own line', () => {
  has(problems(`${BASE}\n[system]\nhostname = "a"\n\n[system.foo.bar]\nx = 1\n`), /^\S*kiln\.toml:10: system\.foo\.bar: unknown setting$/);
  has(problems(`${BASE}[system]\nfoo.bar = 1\n`), /^\S*kiln\.toml:7: system\.foo\.bar: unknown setting$/);
  const arch = problems('[distribution]\nname = "arch"\nmirror = "http://127.0.0.1:9/$repo/os/$arch"\n\n[distribution.repository-mirrors.x.y]\nz = "http://127.0.0.1:9/x"\n');
  has(arch, /^\S*kiln\.toml:6: distribution\.repository-mirrors: x\.y\.z: a table of repository name = mirror URL holds no nested tables/);
});

test('the report shows the first 50 problems and counts the rest', () => {
  const keys = Array.from({ length: 120 }, (_, i) => `key${i} = 1`).join('\n');
  let error: unknown;
  try {
    loadConfig({ dir: dirWith(`${BASE}[system]\n${keys}\n`), env: {} });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  assert.equal(error.problems.length, 50, 'past the first 50 of a file, unknown keys are only counted');
  const lines = error.message.split('\n');
  assert.equal(lines.length, 51);
  assert.match(lines[0] ?? '', /kiln\.toml:7: system\.key0: unknown setting/);
  assert.match(lines[49] ?? '', /kiln\.toml:56: system\.key49: unknown setting/);
  assert.equal(lines[50], '... and 70 more problems not shown');
  assert.match(error.hint ?? '', /120 problems in the configuration; the first 50 are shown/);
});

test('a hook name never addresses a path outside its directory, even past the config check', () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-hookroot-'));
  mkdirSync(join(root, 'var/tmp'), { recursive: true });
  symlinkSync('/var/tmp', join(root, 'tmp'));
  const { inside, target } = chrootHookPath(root, '10-motd.chroot');
  assert.equal(target, join(root, 'var/tmp', `.kiln-hook-${process.pid}-10-motd.chroot`), "the tree's /tmp is resolved inside the tree");
  assert.equal(inside, `/var/tmp/.kiln-hook-${process.pid}-10-motd.chroot`);
  assert.throws(() => chrootHookPath(root, '../../../etc/passwd'), UserError);
  const dir = dirWith(BASE);
  const config = loadConfig({ dir, env: {} }).config;
  const bypassed = { ...config, 'hooks.inline': [{ stage: 'customize' as const, name: '../../etc/x', run: 'true' }] };
  assert.throws(() => collectHooks(dir, bypassed), (err: unknown) => err instanceof UserError && /not a file name/.test(err.message));
});

test('an output path never leaves the output directory, even past the config check', () => {
  assert.equal(outputPath('/srv/out', 'image', 'tar.gz'), '/srv/out/image.tar.gz');
  for (const name of ['../image', 'a/b', '..', '.']) {
    assert.throws(() => outputPath('/srv/out', name, 'directory'), UserError, name);
    assert.throws(() => manifestPath('/srv/out', `${name}/x`), UserError, name);
  }
});
