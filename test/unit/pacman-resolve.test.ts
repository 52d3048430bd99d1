import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { formatDesc } from '../../src/formats/pacman/db.ts';
import { resolvePacman } from '../../src/formats/pacman/resolve.ts';
import type { PacmanPackage, PacmanRepository } from '../../src/formats/pacman/types.ts';
import { UserError } from '../../src/util/errors.ts';
import { mapLimit } from '../../src/util/concurrency.ts';
import { seededRandom, testDir, throwsUserError } from '../helpers/fixtures.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

interface Scenario {
  repositories: PacmanRepository[];
  targets: string[];
}

const LIST_KEYS = ['depends', 'provides', 'conflicts', 'replaces', 'groups'] as const;

/**
 * A repository from one line per package: `NAME VERSION key=a,b ...` with
 * keys depends, provides, conflicts, replaces, groups.
 */
function repo(name: string, text: string): PacmanRepository {
  const packages = text
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line): PacmanPackage => {
      const [pkgName, version, ...rest] = line.split(/\s+/);
      const pkg: PacmanPackage = {
        repo: name, name: pkgName!, version: version!, arch: 'any', filename: `${pkgName}-${version}-any.pkg.tar.zst`,
        csize: 1, isize: 1, sha256: '', license: [], groups: [], depends: [], optdepends: [], makedepends: [],
        checkdepends: [], provides: [], conflicts: [], replaces: [],
      };
      for (const item of rest) {
        // Relations keep their own '=': the key ends at the first one.
        const key = item.slice(0, item.indexOf('=')) as (typeof LIST_KEYS)[number];
        assert.ok(LIST_KEYS.includes(key), `unknown key in "${line}"`);
        pkg[key] = item.slice(key.length + 1).split(',');
      }
      return pkg;
    });
  return { name, packages };
}

/** Every scenario of the hand-written tests, asked of the real pacman too at the end: the expectations are pacman's. */
const handWritten: Scenario[] = [];

function resolve(repositories: PacmanRepository[], targets: string[]) {
  handWritten.push({ repositories, targets });
  return resolvePacman({ repositories, targets });
}

/** For the cases where kiln departs from pacman on purpose (each says why). */
function resolveUnlikePacman(repositories: PacmanRepository[], targets: string[]) {
  return resolvePacman({ repositories, targets });
}

function installed(plan: { packages: PacmanPackage[] }): string[] {
  return plan.packages.map((pkg) => `${pkg.repo}/${pkg.name}`);
}

test('follows depends recursively; dependencies come first; says why and which are explicit', () => {
  const core = repo('core', `
    app 1.0-1 depends=libx>=1,liby
    libx 1.2-1 depends=libz
    liby 2-1 depends=libz
    libz 1-1
    unrelated 1-1`);
  const plan = resolve([core], ['app']);
  assert.deepEqual(installed(plan), ['core/libz', 'core/libx', 'core/liby', 'core/app']);
  assert.deepEqual([...plan.reasons], [
    ['libz', 'required by libx'],
    ['libx', 'required by app'],
    ['liby', 'required by app'],
    ['app', 'requested'],
  ]);
  assert.deepEqual([...plan.explicit], ['app']);
});

test('a package of the dependency’s name wins, from the first repository whose version fits', () => {
  const core = repo('core', `
    foo 1-1
    app 1-1 depends=foo
    app2 1-1 depends=foo>=2`);
  const extra = repo('extra', `
    foo 2-1
    afoo 9-1 provides=foo=9`);
  assert.deepEqual(installed(resolve([core, extra], ['app'])), ['core/foo', 'core/app']);
  assert.deepEqual(installed(resolve([extra, core], ['app'])), ['extra/foo', 'core/app']);
  assert.deepEqual(installed(resolve([core, extra], ['app2'])), ['extra/foo', 'core/app2']);
  assert.deepEqual(installed(resolve([core, extra], ['extra/foo'])), ['extra/foo']);
  // `foo>=2` as a target: the first fitting package, like a dependency.
  assert.deepEqual(installed(resolve([core, extra], ['foo>=2'])), ['extra/foo']);
});

const SHELLS = `
  app 1-1 depends=sh
  modern 1-1 depends=sh>=5
  zsh 5.9-1 provides=sh=5.9
  bash 5.2.015-1 provides=sh=5.2
  ash 1.0-1 provides=sh`;

test('alternatives through provides: the first provider in name order, unless one is already selected', () => {
  const core = repo('core', SHELLS);
  assert.deepEqual(installed(resolve([core], ['app'])), ['core/ash', 'core/app']);
  assert.equal(resolve([core], ['app']).reasons.get('ash'), 'required by app');
  // A target that provides the dependency is preferred, wherever it stands among the targets.
  assert.deepEqual(installed(resolve([core], ['app', 'zsh'])), ['core/zsh', 'core/app']);
  // A provider already pulled in by an earlier dependency serves the later one.
  const more = repo('core', `${SHELLS}\n  both 1-1 depends=modern,app`);
  assert.deepEqual(installed(resolve([more], ['both'])), ['core/bash', 'core/modern', 'core/app', 'core/both']);
  // A virtual name as a target: its first provider.
  assert.deepEqual(installed(resolve([core], ['sh'])), ['core/ash']);
});

test('a versioned dependency takes only a provider whose `=` provision fits', () => {
  const core = repo('core', SHELLS);
  assert.deepEqual(installed(resolve([core], ['modern'])), ['core/bash', 'core/modern']);
  const bare = repo('core', `
    modern 1-1 depends=sh>=5
    ash 1.0-1 provides=sh
    dash 0.5-1 provides=sh>=5
    oldsh 4-1 provides=sh=4.4`);
  throwsUserError(
    () => resolve([bare], ['modern']),
    'modern requires sh>=5, which no available version satisfies',
    'available: core/ash provides sh, core/dash provides sh>=5, core/oldsh provides sh=4.4',
  );
});

test('providers: the first repository that has one wins over a name earlier in the alphabet', () => {
  const core = repo('core', 'app 1-1 depends=sh\nzsh 1-1 provides=sh');
  const extra = repo('extra', 'ash 1-1 provides=sh');
  assert.deepEqual(installed(resolve([core, extra], ['app'])), ['core/zsh', 'core/app']);
  assert.deepEqual(installed(resolve([extra, core], ['app'])), ['extra/ash', 'core/app']);
});

test('groups: members from every repository, the first repository winning per name, all explicit', () => {
  const core = repo('core', `
    b 1-1 groups=base
    a 1-1 groups=base,extra-group depends=c
    c 1-1`);
  const extra = repo('extra', `
    a 2-1 groups=base
    d 1-1 groups=base`);
  const plan = resolve([core, extra], ['base']);
  assert.deepEqual(installed(plan), ['core/c', 'core/a', 'core/b', 'extra/d']);
  assert.deepEqual([...plan.explicit], ['a', 'b', 'd']);
  assert.equal(plan.reasons.get('a'), 'group base');
  assert.equal(plan.reasons.get('c'), 'required by a');
  assert.deepEqual(installed(resolve([core, extra], ['extra/base'])), ['extra/a', 'extra/d']);
  // A package of the group's name wins over the group.
  const named = repo('named', 'base 1-1');
  assert.deepEqual(installed(resolve([core, named], ['base'])), ['named/base']);
  // A member named twice is one target.
  assert.deepEqual(installed(resolve([core], ['base', 'a'])), ['core/c', 'core/a', 'core/b']);
});

test('conflicts between selected packages, by name, version or provision, are errors naming both', () => {
  const core = repo('core', `
    app 1-1 depends=lib
    lib 1-1 conflicts=old-lib
    old-lib 1-1
    vim 9-1
    gvim 9-1 provides=vim=9 conflicts=vim
    new 2-1 conflicts=lib<1
    mta 1-1 conflicts=smtp-server provides=smtp-server
    postfix 3-1 provides=smtp-server`);
  throwsUserError(
    () => resolve([core], ['app', 'old-lib']),
    'core/lib 1-1 and core/old-lib 1-1 are in conflict',
    'lib: required by app; old-lib: requested; ask for only one of them',
  );
  // pacman drops vim from the targets here, since gvim provides it; kiln asks the user to choose.
  throwsUserError(() => resolveUnlikePacman([core], ['vim', 'gvim']), /^core\/gvim 9-1 and core\/vim 9-1 are in conflict$/);
  assert.deepEqual(installed(resolve([core], ['new', 'app'])), ['core/new', 'core/lib', 'core/app']);
  throwsUserError(() => resolve([core], ['mta', 'postfix']), 'core/mta 1-1 and core/postfix 3-1 are in conflict (mta conflicts with smtp-server)');
  // A package may conflict with what it provides itself.
  assert.deepEqual(installed(resolve([core], ['mta'])), ['core/mta']);
});

test('replaces are kept but never pull a package in on a fresh install', () => {
  const core = repo('core', 'new 2-1 replaces=old\nold 1-1');
  const plan = resolve([core], ['old']);
  assert.deepEqual(installed(plan), ['core/old']);
  assert.deepEqual(core.packages[0]!.replaces, ['old']);
});

test('a missing dependency names the chain that needs it', () => {
  const core = repo('core', `
    app 1-1 depends=mid
    mid 1-1 depends=leaf
    leaf 1-1 depends=gone>=2
    gone 1-1`);
  throwsUserError(
    () => resolve([core], ['app']),
    'leaf requires gone>=2, which no available version satisfies',
    'available: core/gone 1-1; chain: app → mid → leaf',
  );
  throwsUserError(() => resolve([repo('core', 'app 1-1 depends=nothing')], ['app']), 'app requires nothing, which no package provides');
  // A second package of a name already selected is never taken.
  const two = [repo('core', 'app 1-1 depends=foo,bar\nfoo 1-1\nbar 1-1 depends=foo>=2'), repo('extra', 'foo 2-1')];
  throwsUserError(
    () => resolve(two, ['app']),
    'bar requires foo>=2, but core/foo 1-1 is already selected',
    'foo is required by app; chain: app → bar',
  );
});

test('unknown targets suggest close names; bad repositories and duplicate targets are errors', () => {
  const core = repo('core', 'linux 6.6-1 groups=kernels\nlinux-lts 6.1-1 provides=linux-image');
  throwsUserError(() => resolve([core], ['linx']), 'unknown package or group "linx"', 'did you mean: linux?');
  throwsUserError(() => resolve([core], ['kernel']), 'unknown package or group "kernel"', 'did you mean: kernels?');
  throwsUserError(() => resolve([core], ['linux>=7']), 'no package satisfies "linux>=7"', 'available: core/linux 6.6-1');
  throwsUserError(() => resolve([core], ['extra/linux']), '"extra/linux" names repository extra, which is not configured', 'repositories: core');
  throwsUserError(() => resolve([core], ['core/']), 'empty package name in target "core/"');
  const extra = repo('extra', 'linux 6.7-1');
  throwsUserError(
    () => resolve([core, extra], ['linux', 'extra/linux']),
    '"extra/linux" asks for extra/linux 6.7-1, but core/linux 6.6-1 is already a target',
  );
});

test('cycles are broken where the walk closes them, the same way every time', () => {
  const core = repo('core', `
    app 1-1 depends=a
    a 1-1 depends=b
    b 1-1 depends=c
    c 1-1 depends=a
    self 1-1 depends=self-virt provides=self-virt`);
  assert.deepEqual(installed(resolve([core], ['app'])), ['core/c', 'core/b', 'core/a', 'core/app']);
  assert.deepEqual(installed(resolve([core], ['b', 'app'])), ['core/a', 'core/c', 'core/b', 'core/app']);
  assert.deepEqual(installed(resolve([core], ['self'])), ['core/self']);
});

test('the result does not depend on the order of the database', () => {
  const core = repo('core', `
    app 1-1 depends=sh,lib,tool
    zsh 1-1 provides=sh
    ash 1-1 provides=sh
    lib 1-1 depends=tool
    tool 1-1`);
  const reversed: PacmanRepository = { name: 'core', packages: [...core.packages].reverse() };
  assert.deepEqual(installed(resolve([reversed], ['app'])), installed(resolve([core], ['app'])));
  assert.deepEqual(installed(resolve([core], ['app'])), ['core/ash', 'core/tool', 'core/lib', 'core/app']);
});

// --- The real pacman as the judge --------------------------------------------------------

const execFileAsync = promisify(execFile);
const skipPacman = skipOrFail(missingTools(['pacman', 'bsdtar']));
const isRoot = process.getuid?.() === 0;


/**
 * Random repositories over a few names: real packages p0..p13 (some in
 * several repositories at other versions), virtual names v0..v4 provided
 * with and without versions, groups g0 and g1, depends with every operator,
 * a few conflicts and cycles. Provisions name only virtual names: pacman
 * quietly drops a target that a conflicting package provides, where kiln
 * stops with an error.
 */
function randomScenario(random: () => number): Scenario {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const versions = ['1-1', '2-1', '1.5-2', '1:0.5-1', '2-1.1'];
  const ops = ['>=', '>=', '>=', '<', '=', '>', '<='];
  const names = Array.from({ length: 14 }, (_, i) => `p${i}`);
  const virtuals = Array.from({ length: 5 }, (_, i) => `v${i}`);
  const relation = (name: string): string => (random() < 0.8 ? name : `${name}${pick(ops)}${pick(['1', '1', '1.5', '1-1', '1:0', '2', '2-1'])}`);
  const repositories = ['core', 'extra', 'community'].slice(0, 2 + Math.floor(random() * 2)).map((name, r) => {
    const lines = names
      .filter(() => random() < (r === 0 ? 0.95 : 0.4))
      .map((pkg) => {
        const fields = [pkg, pick(versions)];
        const depends = Array.from({ length: Math.floor(random() * 2.6) }, () => relation(pick(random() < 0.7 ? names : virtuals)));
        const provides = Array.from({ length: random() < 0.5 ? 1 + Math.floor(random() * 2) : 0 }, () =>
          random() < 0.5 ? pick(virtuals) : `${pick(virtuals)}=${pick(['1', '2', '1.5-1'])}`,
        );
        if (depends.length > 0) fields.push(`depends=${depends.join(',')}`);
        if (provides.length > 0) fields.push(`provides=${provides.join(',')}`);
        if (random() < 0.12) fields.push(`conflicts=${relation(pick(random() < 0.6 ? names : virtuals))}`);
        if (random() < 0.15) fields.push(`groups=${pick(['g0', 'g1'])}`);
        return fields.join(' ');
      });
    return repo(name, lines.join('\n') || 'p0 1-1');
  });
  const targets = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const roll = random();
    if (roll < 0.6) return pick(names);
    if (roll < 0.7) return pick(virtuals);
    if (roll < 0.8) return pick(['g0', 'g1']);
    if (roll < 0.9) return `${pick(repositories).name}/${pick(names)}`;
    return relation(pick(names));
  });
  return { repositories, targets };
}

type Verdict = { ok: true; installed: string[] } | { ok: false; why: string };

/**
 * A throwaway pacman setup: the entries of each sync database as repo-add
 * lays them out, a pacman.conf naming the repositories, and the options that
 * keep pacman inside `dir`. Returns a shell script that makes the databases
 * (bsdtar) and runs pacman with the arguments it is given: one process per
 * scenario keeps the test fast.
 */
async function writePacmanSetup(dir: string, repositories: PacmanRepository[]): Promise<string> {
  await mkdir(join(dir, 'db', 'sync'), { recursive: true });
  await mkdir(join(dir, 'root'));
  const script = ['set -e'];
  for (const { name, packages } of repositories) {
    const entries = join(dir, 'entries', name);
    const directories: string[] = [];
    for (const pkg of packages) {
      const directory = `${pkg.name}-${pkg.version}`;
      directories.push(directory);
      await mkdir(join(entries, directory), { recursive: true });
      const fields: [string, string[]][] = [
        ['FILENAME', [pkg.filename]], ['NAME', [pkg.name]], ['VERSION', [pkg.version]], ['ARCH', [pkg.arch]],
        ['GROUPS', pkg.groups], ['DEPENDS', pkg.depends], ['PROVIDES', pkg.provides], ['CONFLICTS', pkg.conflicts],
        ['REPLACES', pkg.replaces],
      ];
      await writeFile(join(entries, directory, 'desc'), formatDesc(fields));
    }
    script.push(`bsdtar -cf '${join(dir, 'db', 'sync', `${name}.db`)}' -C '${entries}' ${directories.map((d) => `'${d}'`).join(' ')}`);
  }
  const sections = repositories.flatMap(({ name }) => [`[${name}]`, 'Server = file:///nonexistent']);
  const conf = ['[options]', 'Architecture = x86_64', 'SigLevel = Never', ...sections];
  await writeFile(join(dir, 'pacman.conf'), `${conf.join('\n')}\n`);
  const options = ['--noconfirm', '--root', join(dir, 'root'), '--dbpath', join(dir, 'db'), '--config', join(dir, 'pacman.conf'),
    '--cachedir', join(dir, 'cache'), '--logfile', '/dev/null', '--hookdir', join(dir, 'hooks'), '--gpgdir', join(dir, 'gpg')];
  script.push(`exec pacman ${options.map((o) => `'${o}'`).join(' ')} "$@"`);
  return script.join('\n');
}

/**
 * What pacman makes of the targets: `pacman -Sp` prints the install order.
 * It skips the conflict check, so when the packages carry conflicts a real
 * `pacman -S` (as root, against the throwaway root, with a server that does
 * not exist, so it stops before downloading anything) says whether it objects.
 * Undefined when only that could tell and the test does not run as root.
 */
async function pacmanVerdict(dir: string, scenario: Scenario): Promise<Verdict | undefined> {
  const script = await writePacmanSetup(dir, scenario.repositories);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const pacman = (...args: string[]) => execFileAsync('sh', ['-c', script, 'sh', ...args, '--', ...scenario.targets], { env });
  let printed: string;
  try {
    printed = (await pacman('-Sp', '--print-format', '%r/%n')).stdout;
  } catch (error) {
    return { ok: false, why: (error as { stderr: string }).stderr };
  }
  const installed = printed.split('\n').filter(Boolean);
  const withConflicts = scenario.repositories
    .flatMap((r) => r.packages)
    .some((pkg) => pkg.conflicts.length > 0 && installed.includes(`${pkg.repo}/${pkg.name}`));
  if (withConflicts) {
    if (!isRoot) return undefined;
    const result = await pacman('-S').catch((error: { stderr: string }) => error);
    if (result.stderr.includes('unresolvable package conflicts')) return { ok: false, why: result.stderr };
  }
  return { ok: true, installed };
}

interface Verdicts {
  scenario: Scenario;
  pacman: Verdict | undefined;
  kiln: Verdict;
}

async function verdicts(dir: string, scenarios: Scenario[]): Promise<Verdicts[]> {
  const all = await mapLimit(scenarios, 4, async (scenario, i) => ({
    scenario,
    pacman: await pacmanVerdict(join(dir, String(i)), scenario),
    kiln: kilnVerdict(scenario),
  }));
  return all.filter(({ pacman }) => pacman !== undefined);
}

/** The first few scenarios where kiln and pacman disagree, readably. */
function disagreements(verdicts: Verdicts[]): unknown[] {
  return verdicts
    .filter(({ pacman, kiln }) => pacman!.ok !== kiln.ok || (pacman!.ok && kiln.ok && pacman!.installed.join(' ') !== kiln.installed.join(' ')))
    .slice(0, 3)
    .map(({ scenario, pacman, kiln }) => ({
      targets: scenario.targets,
      repositories: scenario.repositories.map(
        (r) => `${r.name}: ${r.packages.map((p) => `${p.name} ${p.version} d=${p.depends} p=${p.provides} c=${p.conflicts} g=${p.groups}`).join(' | ')}`,
      ),
      pacman,
      kiln,
    }));
}

function kilnVerdict(scenario: Scenario): Verdict {
  try {
    return { ok: true, installed: installed(resolvePacman(scenario)) };
  } catch (error) {
    if (error instanceof UserError) return { ok: false, why: error.message };
    throw error;
  }
}

test('the real pacman agrees with every hand-written case above', { skip: skipPacman }, async (t) => {
  const dir = await testDir(t, 'kiln-pacman-resolve-');
  // The tests of this file run one after the other: every case above is in by now.
  assert.ok(handWritten.length > 30);
  assert.deepEqual(disagreements(await verdicts(dir, handWritten)), []);
});

test('agrees with the real pacman on 100 random repositories', { skip: skipPacman }, async (t) => {
  const dir = await testDir(t, 'kiln-pacman-resolve-');
  const random = seededRandom(0x70616321);
  const scenarios = Array.from({ length: 100 }, () => randomScenario(random));
  const checked = await verdicts(dir, scenarios);
  assert.deepEqual(disagreements(checked), []);
  // The scenarios must exercise both outcomes, and orders longer than one package.
  const told = checked.map(({ pacman }) => pacman!);
  assert.ok(told.filter((verdict) => verdict.ok).length > 40);
  assert.ok(told.filter((verdict) => !verdict.ok).length > 10);
  assert.ok(told.filter((verdict) => verdict.ok && verdict.installed.length >= 4).length > 15);
});
