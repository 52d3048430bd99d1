/**
 * The matrix example (examples/matrix): one tree of config files for two
 * distributions x two architectures x two profiles. `kiln config` for every
 * cell is compared with a snapshot, origins included; then every kind of bad
 * configuration, each through the CLI: its own one-line error and exit 2.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER, writeAs } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { loadConfig } from '../../src/config/index.ts';

const skip = skipOrFail(integrationSkipReason());
const repo = fileURLToPath(new URL('../..', import.meta.url));
const SNAPSHOT = join(repo, 'test/snapshots/matrix-config.txt');

/** The example copied into a directory the test user owns. */
function matrixCopy(): string {
  const dir = imageDir();
  cpSync(join(repo, 'examples/matrix'), dir, { recursive: true });
  if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, dir]);
  return dir;
}

/** The host's Debian mirror stands in the snapshot as a placeholder: it differs between machines. */
function normalise(text: string): string {
  const hostMirror = loadConfig({ dir: '/nonexistent', env: {}, sets: ['distribution.name=debian', 'distribution.architecture=amd64'] }).config['distribution.mirror'];
  return text.split(hostMirror).join('<host apt mirror>');
}

describe('the matrix example', { skip }, () => {
  test('kiln config for every cell matches the snapshot, with the file and line of each value', async () => {
    const dir = matrixCopy();
    const parts: string[] = [];
    for (const distribution of ['debian', 'archlinuxarm']) {
      for (const arch of ['aarch64', 'armv7h']) {
        for (const profile of ['base', 'devel']) {
          const args = ['config', '-d', distribution, '-a', arch, '-p', profile];
          const r = await kiln([...args, '-C', '.'], { cwd: dir });
          assert.equal(r.code, 0, r.stderr);
          parts.push(`$ kiln ${args.join(' ')}\n${r.stdout}`);
        }
      }
    }
    const actual = normalise(parts.join('\n'));
    if (process.env.KILN_UPDATE_SNAPSHOTS === '1' || !existsSync(SNAPSHOT)) writeFileSync(SNAPSHOT, actual);
    assert.equal(actual, readFileSync(SNAPSHOT, 'utf8'), 'kiln config changed; if on purpose, run again with KILN_UPDATE_SNAPSHOTS=1 and review the diff');
  });

  test('kiln config --json agrees with the text and hides private values', async () => {
    const dir = matrixCopy();
    writeAs(join(dir, 'kiln.private.toml'), '[system]\nroot-password-hash = "$6$salt$hash"\n[distribution]\nmirror = "http://user:pw@127.0.0.1:9/debian"\n');
    const r = await kiln(['config', '--json', '-C', '.', '-p', 'devel'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as { profiles: string[]; files: string[]; settings: Record<string, { value: unknown; origin: string; hidden?: string }> };
    assert.deepEqual(shown.profiles, ['devel']);
    assert.deepEqual(shown.files, ['kiln.toml', 'kiln.conf.d/10-debian.toml', 'kiln.conf.d/20-archlinuxarm.toml', 'kiln.conf.d/30-armv7.toml', 'profiles/devel.toml', 'kiln.private.toml']);
    assert.deepEqual(shown.settings['packages.install']?.value, ['ca-certificates', 'less', 'openssh-server', 'systemd-timesyncd', 'gdb', 'strace', 'build-essential']);
    assert.equal(shown.settings['distribution.architecture']?.value, 'arm64');
    assert.equal(shown.settings['output.directory']?.value, 'out/debian-arm64');
    assert.deepEqual(shown.settings['distribution.mirror'], { value: '(private)', origin: 'kiln.private.toml:4', hidden: 'private' });
    assert.equal(shown.settings['system.root-password-hash']?.hidden, 'secret');
    assert.doesNotMatch(r.stdout, /pw@|\$salt/);
  });
});

/** [what, kiln.toml (or files), extra args, the one error line]. */
const BAD: [string, Record<string, string>, string[], RegExp][] = [
  ['TOML syntax', { 'kiln.toml': '[distribution\n' }, [], /^kiln: error: kiln\.toml:1:\d+: /],
  ['unknown setting', { 'kiln.toml': '[packages]\ninstal = ["x"]\n' }, [], /^kiln: error: kiln\.toml:2: packages\.instal: unknown setting; did you mean packages\.install\?$/],
  ['wrong type', { 'kiln.toml': '[build]\njobs = "many"\n' }, [], /^kiln: error: kiln\.toml:2: build\.jobs: expected a whole number from 1 to 64, got "many"$/],
  ['value not allowed', { 'kiln.toml': '[packages]\nbase = "huge"\n' }, [], /^kiln: error: kiln\.toml:2: packages\.base: expected one of essential, minimal, standard, tiny, none, got "huge"$/],
  ['unknown distribution', { 'kiln.toml': '[distribution]\nname = "gentoo"\n' }, [], /^kiln: error: kiln\.toml:2: distribution\.name: expected one of .*, got "gentoo"$/],
  ['unknown architecture', { 'kiln.toml': '[distribution]\nname = "debian"\narchitecture = "vax"\n' }, [], /^kiln: error: kiln\.toml:3: distribution\.architecture: unknown architecture "vax" for Debian; known: /],
  ['required key missing', { 'kiln.toml': '[distribution]\nname = "loongarchlinux"\narchitecture = "loong64"\n' }, [], /^kiln: error: kiln\.toml: distribution\.mirror: Loong Arch Linux has no default mirror; set distribution\.mirror /],
  ['path that must exist', { 'kiln.toml': '[distribution]\nname = "debian"\nkeyring = ["keys/none.gpg"]\n' }, [], /^kiln: error: kiln\.toml:3: distribution\.keyring: keys\/none\.gpg does not exist \(looked for .*keys\/none\.gpg\)$/],
  ['conflicting settings', { 'kiln.toml': '[system]\nroot-password = "a"\nroot-password-hash = "$6$b$c"\n' }, [], /^kiln: error: kiln\.toml:2: system\.root-password: set either root-password or root-password-hash, not both$/],
  ['setting for another distribution', { 'kiln.toml': '[distribution]\nname = "debian"\nkeyring-bootstrap = "trust-first-download"\n' }, [], /^kiln: error: kiln\.toml:3: distribution\.keyring-bootstrap: only for pacman distributions/],
  ['bad list operation', { 'kiln.toml': '[packages]\ninstall = { plus = ["x"] }\n' }, [], /^kiln: error: kiln\.toml:2: packages\.install: a list is given as /],
  ['unknown match criterion', { 'kiln.toml': '[[when]]\nmatch = { cpu = "arm" }\nsystem.hostname = "x"\n' }, [], /^kiln: error: kiln\.toml:2: match\.cpu: unknown criterion; known: /],
  ['interpolation of nothing', { 'kiln.toml': '[output]\nname = "${output.nom}"\n' }, [], /^kiln: error: kiln\.toml:2: output\.name: \$\{output\.nom\} names no setting/],
  ['interpolation loop', { 'kiln.toml': '[output]\nname = "${output.name}x"\n' }, [], /^kiln: error: kiln\.toml:2: output\.name: \$\{\.\.\.\} refers back to itself/],
  ['unknown profile', { 'kiln.toml': '' }, ['-p', 'fast'], /^kiln: error: --profile fast: no profiles\/fast\.toml; /],
  ['bad drop-in', { 'kiln.conf.d/10-x.toml': '[system]\nhostname = 5\n' }, [], /^kiln: error: kiln\.conf\.d\/10-x\.toml:2: system\.hostname: expected a host name, got 5$/],
  ['bad --set', { 'kiln.toml': '' }, ['--set', 'output.format+=zip'], /^kiln: error: --set: output\.format: item 1: expected one of /],
  ['bad environment value', { 'kiln.toml': '' }, ['--env', 'KILN_BUILD_WORKSPACE=ram'], /^kiln: error: \$KILN_BUILD_WORKSPACE: build\.workspace: expected one of tmpfs, disk, got "ram"$/],
];

describe('every kind of bad configuration: its own one-line error, exit 2', { skip }, () => {
  for (const [what, files, args, expected] of BAD) {
    test(what, async () => {
      const dir = imageDir();
      for (const [path, text] of Object.entries(files)) writeAs(join(dir, path), text);
      const envIndex = args.indexOf('--env');
      const env = envIndex >= 0 ? Object.fromEntries([args[envIndex + 1]!.split('=') as [string, string]]) : {};
      const cliArgs = envIndex >= 0 ? args.filter((_, i) => i !== envIndex && i !== envIndex + 1) : args;
      const r = await kiln(['build', '--dry-run', '-C', '.', ...cliArgs], { cwd: dir, env });
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
      assert.match(lines[0]!, expected);
    });
  }
});
