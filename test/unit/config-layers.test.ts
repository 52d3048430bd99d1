import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig, ConfigError, formatConfig, configToJson, publicConfig, type LoadOptions } from '../../src/config/index.ts';

const MIRROR = 'http://127.0.0.1:9/debian';

/** An image directory holding the given files (path -> TOML). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-layers-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const load = (dir: string, opts: Partial<LoadOptions> = {}) => loadConfig({ dir, env: {}, ...opts });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const BASE = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${MIRROR}"\n`;

test('layers stack in order: kiln.toml < conf.d (lexical) < profiles (as given) < kiln.local.toml < environment < --set', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[system]\nhostname = "from-toml"\n[output]\nname = "toml"\n`,
    'kiln.conf.d/20-b.toml': '[system]\nhostname = "from-20"\n',
    'kiln.conf.d/10-a.toml': '[system]\nhostname = "from-10"\n[output]\nname = "dropin"\n',
    'kiln.conf.d/notes.txt': 'not toml',
    'profiles/one.toml': '[output]\nname = "one"\n',
    'profiles/two.toml': '[output]\nname = "two"\n',
    'kiln.local.toml': '[build]\njobs = 3\n',
  });
  let loaded = load(dir);
  assert.equal(loaded.config['system.hostname'], 'from-20');
  assert.match(loaded.origins['system.hostname'], /kiln\.conf\.d\/20-b\.toml:2$/);
  assert.equal(loaded.config['output.name'], 'dropin');
  assert.equal(loaded.config['build.jobs'], 3);
  assert.match(loaded.origins['build.jobs'], /kiln\.local\.toml:2$/);
  assert.deepEqual(configToJson(loaded).files, ['kiln.toml', 'kiln.conf.d/10-a.toml', 'kiln.conf.d/20-b.toml', 'kiln.local.toml']);

  loaded = load(dir, { profiles: ['two', 'one'] });
  assert.equal(loaded.config['output.name'], 'one', 'the last profile given wins');
  loaded = load(dir, { profiles: ['one', 'two'], env: { KILN_BUILD_JOBS: '5' } });
  assert.equal(loaded.config['output.name'], 'two');
  assert.equal(loaded.config['build.jobs'], 5, 'the environment is above kiln.local.toml');
  loaded = load(dir, { env: { KILN_BUILD_JOBS: '5', KILN_PROFILE: 'two' }, sets: ['build.jobs=6'] });
  assert.equal(loaded.config['build.jobs'], 6);
  assert.deepEqual(loaded.profiles, ['two']);
  assert.equal(loaded.config['output.name'], 'two');
});

test('lists: add and remove are counted across layers, so the order of the files does not matter; a plain list replaces', () => {
  const files = {
    'kiln.toml': `${BASE}[packages]\ninstall = ["vim", "less"]\n`,
    'kiln.conf.d/10.toml': '[packages]\ninstall = { add = ["curl"], remove = ["less"] }\n',
    'kiln.conf.d/20.toml': '[packages]\ninstall = { add = ["less", "htop"] }\n',
  };
  const a = load(tree(files));
  // Swap the two drop-ins' contents: the result is the same set.
  const b = load(tree({ ...files, 'kiln.conf.d/10.toml': files['kiln.conf.d/20.toml'], 'kiln.conf.d/20.toml': files['kiln.conf.d/10.toml'] }));
  assert.deepEqual([...a.config['packages.install']].sort(), ['curl', 'htop', 'less', 'vim']);
  assert.deepEqual([...b.config['packages.install']].sort(), [...a.config['packages.install']].sort());
  assert.match(a.origins['packages.install'], /kiln\.toml:7 \+.*10\.toml:2 -.*10\.toml:2 \+.*20\.toml:2$/);

  const removed = load(tree(files), { sets: ['packages.install-=vim,htop', 'packages.install+=jq'] });
  assert.deepEqual(removed.config['packages.install'], ['less', 'curl', 'jq']);
  const replaced = load(tree({ ...files, 'profiles/tiny.toml': '[packages]\ninstall = ["busybox"]\n' }), { profiles: ['tiny'], sets: ['packages.install+=jq'] });
  assert.deepEqual(replaced.config['packages.install'], ['busybox', 'jq'], 'a plain list replaces everything below it');
  const defaults = load(tree({ 'kiln.toml': `${BASE}[output]\nformat = { add = ["tar.zst"] }\n` }));
  assert.deepEqual(defaults.config['output.format'], ['tar', 'tar.zst'], 'adding to a default keeps the default');
});

test('tables merge by name across layers', () => {
  const dir = tree({
    'kiln.toml': `[distribution]\nname = "archlinux"\nmirror = "http://127.0.0.1:9/$repo/$arch"\nkeyring = ["/dev/null"]\n[distribution.repository-mirrors]\ncore = "http://127.0.0.1:9/a/$repo"\nextra = "http://127.0.0.1:9/b/$repo"\n`,
    'kiln.local.toml': '[distribution.repository-mirrors]\nextra = "http://127.0.0.1:9/local/$repo"\n',
  });
  const loaded = load(dir);
  assert.deepEqual(loaded.config['distribution.repository-mirrors'], { core: 'http://127.0.0.1:9/a/$repo', extra: 'http://127.0.0.1:9/local/$repo' });
});

test('[match] makes a whole file conditional; [[when]] a section; ! negates; architectures match by alias', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[packages]\ninstall = ["vim"]\n\n[[when]]\nmatch = { architecture = "aarch64" }\npackages.install = { add = ["u-boot-tools"] }\n\n[[when]]\nmatch = { architecture = "!arm64", profile = ["dev", "debug"] }\n[when.system]\nhostname = "dev-pc"\n`,
    'kiln.conf.d/50-arm.toml': '[match]\narchitecture = ["arm64", "armhf"]\n\n[output]\nname = "arm"\n',
    'profiles/dev.toml': '[packages]\ninstall = { add = ["gdb"] }\n',
  });
  const pc = load(dir);
  assert.deepEqual(pc.config['packages.install'], ['vim']);
  assert.equal(pc.config['output.name'], 'image');
  const arm = load(dir, { sets: ['distribution.architecture=arm64'] });
  assert.deepEqual(arm.config['packages.install'], ['vim', 'u-boot-tools']);
  assert.equal(arm.config['output.name'], 'arm');
  assert.match(arm.origins['output.name'], /50-arm\.toml:5$/);
  const dev = load(dir, { profiles: ['dev'] });
  assert.equal(dev.config['system.hostname'], 'dev-pc');
  assert.match(dev.origins['system.hostname'], /kiln\.toml:16$/);
  assert.deepEqual(dev.config['packages.install'], ['vim', 'gdb']);
  assert.equal(load(dir, { profiles: ['dev'], sets: ['distribution.architecture=arm64'] }).config['system.hostname'], 'debian');
});

test('a condition may depend on what another condition sets (a board sets the architecture); contradictions are refused', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[board]\nname = "raspberrypi-4"\n\n[[when]]\nmatch = { architecture = "arm64" }\nsystem.hostname = "pi"\n`,
  });
  const loaded = loadConfig({ dir, env: {}, sets: ['distribution.architecture=arm64'] });
  assert.equal(loaded.config['system.hostname'], 'pi');
  const byBoard = load(tree({ 'kiln.toml': `[distribution]\nname = "debian"\nmirror = "${MIRROR}"\n[board]\nname = "raspberrypi-4"\n\n[[when]]\nmatch = { architecture = "arm64" }\nsystem.hostname = "pi"\n` }));
  assert.equal(byBoard.config['distribution.architecture'], 'arm64');
  assert.equal(byBoard.origins['distribution.architecture'], 'board raspberrypi-4');
  assert.deepEqual(byBoard.config['packages.install'], ['linux-image-arm64', 'systemd-sysv', 'udev', 'raspi-firmware']);
  assert.equal(byBoard.config['system.hostname'], 'pi');
  assert.equal(byBoard.board?.name, 'raspberrypi-4');

  const flip = tree({
    'kiln.toml': `[distribution]\nname = "debian"\nmirror = "${MIRROR}"\narchitecture = "amd64"\n\n[[when]]\nmatch = { architecture = "amd64" }\ndistribution.architecture = "arm64"\n\n[[when]]\nmatch = { architecture = "arm64" }\ndistribution.architecture = "amd64"\n`,
  });
  assert.match(problems(() => load(flip)).join('\n'), /conditional sections never settle/);
});

test('${section.key} is replaced by the merged value; $${ is a literal; loops and unknown names are problems', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[board]\nname = "generic-x86_64"\n[output]\nname = "\${distribution.name}-\${distribution.release}-\${board.name}\${profiles}"\n[system]\nlocale = "$\${literal}"\n`,
    'profiles/dev.toml': '',
  });
  const loaded = load(dir, { profiles: ['dev'] });
  assert.equal(loaded.config['output.name'], 'debian-bookworm-generic-x86_64dev');
  assert.equal(loaded.config['system.locale'], '${literal}');
  const bad = tree({ 'kiln.toml': `${BASE}[output]\nname = "\${output.directory}"\ndirectory = "\${output.name}"\n[system]\nhostname = "\${nope.nothing}"\n` });
  const found = problems(() => load(bad));
  assert.ok(found.some((p) => /output\.(name|directory): \$\{\.\.\.\} refers back to itself \(output\.(name|directory) -> output\.(name|directory) -> output\.(name|directory)\)/.test(p)), found.join('\n'));
  assert.ok(found.some((p) => /kiln\.toml:10: system\.hostname: \$\{nope\.nothing\} names no setting/.test(p)), found.join('\n'));
});

test('the private layer: values never printed; a value built from a private one is private too', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[system]\nlocale = "\${distribution.mirror}"\n`,
    'kiln.private.toml': '[distribution]\nmirror = "http://user:s3cret@127.0.0.1:9/debian"\n',
  });
  const loaded = load(dir);
  assert.equal(loaded.config['distribution.mirror'], 'http://user:s3cret@127.0.0.1:9/debian');
  assert.ok(loaded.private.includes('distribution.mirror'));
  assert.ok(loaded.private.includes('system.locale'));
  const text = formatConfig(loaded) + JSON.stringify(configToJson(loaded));
  assert.doesNotMatch(text, /s3cret/);
  assert.match(formatConfig(loaded), /^mirror = "\(private\)"\s+# .*kiln\.private\.toml:2$/m);
  // A default derived from a private value (build.seed from disk.seed) is private as well.
  const seeded = load(tree({ 'kiln.toml': BASE, 'kiln.private.toml': '[disk]\nseed = "s3cret-seed"\n' }));
  assert.equal(seeded.config['build.seed'], 's3cret-seed');
  assert.ok(seeded.private.includes('build.seed'));
  assert.doesNotMatch(formatConfig(seeded) + JSON.stringify(configToJson(seeded)), /s3cret-seed/);
  const elsewhere = tree({ 'secrets.toml': '[system]\nroot-password-hash = "$6$x$y"\n' });
  const viaOption = load(tree({ 'kiln.toml': BASE }), { privateFile: join(elsewhere, 'secrets.toml') });
  assert.equal(viaOption.config['system.root-password-hash'], '$6$x$y');
  assert.match(problems(() => load(tree({ 'kiln.toml': BASE }), { privateFile: join(elsewhere, 'missing.toml') }))[0]!, /^--private .*missing\.toml: no such file$/);
});

test('every kind of mistake in the layers is its own file:line: key: problem, reported together', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[packages]\ninstall = { append = ["x"] }\n\n[[when]]\nmatch = { arch = "arm64" }\nsystem.hostname = "a"\n\n[[when]]\nmatch = { distribution = "debain" }\nsystem.hostname = "b"\n\n[[when]]\nsystem.hostname = "c"\n`,
    'kiln.conf.d/10.toml': '[distribution]\nkeyring = ["missing.gpg"]\n[output]\ndirectory = "${nowhere}"\n',
  });
  const found = problems(() => load(dir, { profiles: ['nosuch'], sets: ['system.hostname+=x'] }));
  const expect = [
    /kiln\.toml:7: packages\.install: a list is given as \[ \.\.\. \] or as \{ add = \[\.\.\.\], remove = \[\.\.\.\] \}/,
    /kiln\.toml:10: match\.arch: unknown criterion; known: distribution, release, architecture, board, profile/,
    /kiln\.toml:14: match\.distribution: unknown distribution "debain"/,
    /kiln\.toml:17: when: a \[\[when\]\] table needs match = /,
    /10\.toml:2: distribution\.keyring: missing\.gpg does not exist/,
    /10\.toml:4: output\.directory: \$\{nowhere\} names no setting/,
    /^--profile nosuch: no .*profiles\/nosuch\.toml; .*has none$/,
    /^--set system\.hostname\+=x: system\.hostname is not a list; use system\.hostname=VALUE$/,
  ];
  for (const re of expect) assert.ok(found.some((p) => re.test(p)), `${re}\nnot in:\n${found.join('\n')}`);
  assert.equal(found.length, expect.length, found.join('\n'));
});

test('sizes: build.checkpoint-limit takes 500M, 4G or bytes', () => {
  const dir = tree({ 'kiln.toml': `${BASE}[build]\ncheckpoint-limit = "1.5G"\n` });
  assert.equal(load(dir).config['build.checkpoint-limit'], 1.5 * 1024 ** 3);
  assert.equal(load(dir, { sets: ['build.checkpoint-limit=500M'] }).config['build.checkpoint-limit'], 500 * 1024 ** 2);
  assert.equal(load(dir, { env: { KILN_BUILD_CHECKPOINT_LIMIT: '0' } }).config['build.checkpoint-limit'], 0);
  assert.match(problems(() => load(dir, { sets: ['build.checkpoint-limit=lots'] }))[0]!, /^--set: build\.checkpoint-limit: expected a size such as 500M or 4G, got "lots"$/);
});

test('durations (in seconds): build.download-timeout takes 30m, 1h30m, 90s, 500ms or a number of seconds; the download defaults', () => {
  const dir = tree({ 'kiln.toml': `${BASE}[build]\ndownload-timeout = "1h30m"\ndownload-min-rate-window = 20\n` });
  const config = load(dir).config;
  assert.equal(config['build.download-timeout'], 90 * 60);
  assert.equal(config['build.download-min-rate-window'], 20);
  assert.equal(config['build.download-min-rate'], 1024);
  assert.equal(load(dir, { sets: ['build.download-timeout=90s'] }).config['build.download-timeout'], 90);
  assert.equal(load(dir, { env: { KILN_BUILD_DOWNLOAD_MIN_RATE_WINDOW: '500ms' } }).config['build.download-min-rate-window'], 0.5);
  assert.equal(load(dir, { sets: ['build.download-min-rate=50K'] }).config['build.download-min-rate'], 50 * 1024);
  assert.equal(load(tree({ 'kiln.toml': BASE })).config['build.download-timeout'], 30 * 60);
  for (const bad of ['soon', '0s', '5 parsecs', '-3m']) {
    assert.match(problems(() => load(dir, { sets: [`build.download-timeout=${bad}`] }))[0]!, /^--set: build\.download-timeout: expected a duration such as 30s, 2m or 1h, got /);
  }
});

test('[[user]] tables add up across layers; their secret fields are never shown', () => {
  const dir = tree({
    'kiln.toml': `${BASE}[[user]]\nname = "pi"\npassword-hash = "$6$hidden$hash"\n`,
    'kiln.conf.d/10.toml': '[[user]]\nname = "ops"\npassword = "plain-secret"\n[[group]]\nname = "gpio"\n',
  });
  const loaded = load(dir);
  assert.deepEqual(loaded.config['users.accounts'].map((u) => u.name), ['pi', 'ops']);
  assert.equal(loaded.config['users.groups'][0]?.name, 'gpio');
  const shown = formatConfig(loaded) + JSON.stringify(configToJson(loaded)) + JSON.stringify(publicConfig(loaded));
  assert.doesNotMatch(shown, /hidden|plain-secret/);
  assert.deepEqual(publicConfig(loaded)['users.accounts'], [{ name: 'pi', 'password-hash': '(secret)' }, { name: 'ops', password: '(secret)' }]);
});
