import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePackages, type DebPackage } from '../../src/formats/deb/packages.ts';
import { resolveDependencies, selectBaseSet, type ResolveOptions } from '../../src/formats/deb/resolve.ts';
import { readHostBookwormIndex } from '../fixtures/deb-host-index.ts';
import { throwsUserError } from '../helpers/fixtures.ts';
import { skipOrFail } from '../helpers/host-tools.ts';

/** A universe from Packages-like stanzas; Version defaults to 1.0 and Architecture to amd64. */
function universe(text: string): DebPackage[] {
  const stanzas = text
    .trim()
    .split(/\n\s*\n/)
    .map((stanza) => stanza.trim().replace(/^\s+/gm, ''))
    .map((stanza) => (/^Version:/m.test(stanza) ? stanza : `${stanza}\nVersion: 1.0`))
    .map((stanza) => (/^Architecture:/m.test(stanza) ? stanza : `${stanza}\nArchitecture: amd64`));
  return parsePackages(stanzas.join('\n\n'));
}

function resolve(text: string, want: string[], more: Partial<ResolveOptions> = {}) {
  return resolveDependencies({ universe: universe(text), architectures: ['amd64'], want, ...more });
}

function names(plan: { packages: DebPackage[] }): string[] {
  return plan.packages.map((pkg) => (pkg.architecture === 'amd64' || pkg.architecture === 'all' ? pkg.name : `${pkg.name}:${pkg.architecture}`));
}

test('follows Depends and Pre-Depends, takes the highest version, says why', () => {
  const plan = resolve(
    `Package: app
     Depends: libx (>= 1.0)
     Pre-Depends: libpre

     Package: libx
     Version: 0.9

     Package: libx
     Version: 1.1

     Package: libpre`,
    ['app'],
  );
  assert.deepEqual(names(plan), ['app', 'libpre', 'libx']);
  assert.equal(plan.packages.find((pkg) => pkg.name === 'libx')!.version, '1.1');
  assert.deepEqual(
    [...plan.reasons],
    [
      ['app', 'requested'],
      ['libpre', 'app pre-depends on libpre'],
      ['libx', 'app depends on libx (>= 1.0)'],
    ],
  );
});

const ALTERNATIVES = `
  Package: app
  Depends: missing | old (>= 2) | b | c

  Package: old

  Package: b

  Package: c

  Package: needs-c
  Depends: c`;

test('an alternative: the first installable one wins', () => {
  assert.deepEqual(names(resolve(ALTERNATIVES, ['app'])), ['app', 'b']);
});

test('an alternative already satisfied wins, even when selected later through a plain dependency', () => {
  assert.deepEqual(names(resolve(ALTERNATIVES, ['app', 'c'])), ['app', 'c']);
  assert.deepEqual(names(resolve(ALTERNATIVES, ['app', 'needs-c'])), ['app', 'c', 'needs-c']);
});

test('an alternative named in prefer wins', () => {
  assert.deepEqual(names(resolve(ALTERNATIVES, ['app'], { prefer: ['c'] })), ['app', 'c']);
});

const MAIL = `
  Package: app
  Depends: mail-transport-agent

  Package: exim4
  Provides: mail-transport-agent
  Priority: optional

  Package: postfix
  Provides: mail-transport-agent
  Priority: optional

  Package: nullmailer
  Provides: mail-transport-agent
  Priority: extra`;

test('a virtual package with one provider', () => {
  const plan = resolve('Package: app\nDepends: awk\n\nPackage: mawk\nProvides: awk', ['app']);
  assert.deepEqual(names(plan), ['app', 'mawk']);
  assert.equal(plan.reasons.get('mawk'), 'app depends on awk');
});

test('a virtual package with several providers: selected, then preferred, then Priority, then name', () => {
  assert.deepEqual(names(resolve(MAIL, ['app'])), ['app', 'exim4']);
  assert.deepEqual(names(resolve(MAIL, ['app', 'nullmailer'])), ['app', 'nullmailer']);
  assert.deepEqual(names(resolve(MAIL, ['app'], { prefer: ['postfix'] })), ['app', 'postfix']);
  assert.deepEqual(names(resolve(MAIL.replace('Priority: extra', 'Priority: important'), ['app'])), ['app', 'nullmailer']);
});

test('a requested virtual package must have one provider, or a preferred one', () => {
  assert.deepEqual(names(resolve(MAIL, ['mail-transport-agent'], { prefer: ['postfix'] })), ['postfix']);
  assert.deepEqual(names(resolve(MAIL, ['mail-transport-agent', 'nullmailer'])), ['nullmailer']);
  assert.deepEqual(names(resolve('Package: mawk\nProvides: awk', ['awk'])), ['mawk']);
  throwsUserError(
    () => resolve(MAIL, ['mail-transport-agent']),
    '"mail-transport-agent" is a virtual package provided by several packages',
    'ask for one of: exim4, nullmailer, postfix',
  );
});

test('versioned Provides satisfy versioned Depends; unversioned Provides only unversioned ones', () => {
  const packages = `
    Package: wants-2
    Depends: virt (>= 2)

    Package: wants-any
    Depends: virt

    Package: unversioned
    Provides: virt

    Package: versioned
    Provides: virt (= 2.5)

    Package: too-old
    Provides: virt (= 1.0)`;
  assert.deepEqual(names(resolve(packages, ['wants-2'])), ['versioned', 'wants-2']);
  assert.deepEqual(names(resolve(packages, ['wants-any', 'versioned'])), ['versioned', 'wants-any']);
  assert.deepEqual(names(resolve(packages, ['unversioned', 'wants-2'])), ['unversioned', 'versioned', 'wants-2']);
  throwsUserError(
    () => resolve(packages.replace('virt (= 2.5)', 'virt (= 1.5)'), ['wants-2']),
    'wants-2 depends on virt (>= 2), but no package provides virt (>= 2)',
  );
});

test('Conflicts push the choice to the next alternative, in both directions and through Provides', () => {
  const base = (first: string) => `
    Package: app
    Depends: first | second

    Package: first
    ${first}

    Package: second

    Package: x
    Conflicts: first`;
  assert.deepEqual(names(resolve(base(''), ['x', 'app'])), ['app', 'second', 'x']);
  const reverse = base('Conflicts: x').replace('Conflicts: first', '');
  assert.deepEqual(names(resolve(reverse, ['x', 'app'])), ['app', 'second', 'x']);
  const viaProvides = base('Provides: mta').replace('Conflicts: first', 'Conflicts: mta');
  assert.deepEqual(names(resolve(viaProvides, ['x', 'app'])), ['app', 'second', 'x']);
  assert.deepEqual(names(resolve(base(''), ['app'])), ['app', 'first']);
});

test('a package never conflicts with itself, e.g. through its own Provides', () => {
  const plan = resolve('Package: postfix\nProvides: mta\nConflicts: mta, postfix', ['postfix']);
  assert.deepEqual(names(plan), ['postfix']);
});

test('Breaks count like Conflicts, with their version', () => {
  const packages = `
    Package: new-lib
    Breaks: old-app (<< 2)

    Package: old-app
    Version: 1.5`;
  throwsUserError(() => resolve(packages, ['old-app', 'new-lib']), 'cannot install requested package "new-lib": new-lib breaks old-app');
  assert.deepEqual(names(resolve(packages.replace('1.5', '2.0'), ['old-app', 'new-lib'])), ['new-lib', 'old-app']);
});

test('a conflict with no way around it names both packages and how they came in', () => {
  const packages = `
    Package: top
    Depends: mid

    Package: mid
    Depends: clash

    Package: clash
    Conflicts: other

    Package: other`;
  throwsUserError(
    () => resolve(packages, ['other', 'top']),
    'mid depends on clash, but clash conflicts with other',
    'chain: top (requested) → mid',
  );
});

const MULTI_ARCH = `
  Package: tool
  Architecture: arm64
  Depends: libc6, helper, python3:any

  Package: libc6
  Multi-Arch: same

  Package: libc6
  Architecture: arm64
  Multi-Arch: same

  Package: helper
  Multi-Arch: foreign

  Package: helper
  Architecture: arm64
  Multi-Arch: foreign

  Package: python3
  Multi-Arch: allowed

  Package: python3
  Architecture: arm64
  Multi-Arch: allowed

  Package: picky
  Depends: plain:any

  Package: plain

  Package: native-app
  Depends: armonly

  Package: armonly
  Architecture: arm64

  Package: arm-app
  Architecture: arm64
  Depends: data

  Package: data
  Architecture: all`;

test('Multi-Arch: same, foreign and allowed with :any', () => {
  const plan = resolveDependencies({ universe: universe(MULTI_ARCH), architectures: ['amd64', 'arm64'], want: ['tool:arm64'] });
  assert.deepEqual(names(plan), ['helper', 'libc6:arm64', 'python3', 'tool:arm64']);
  assert.equal(plan.reasons.get('libc6:arm64'), 'tool:arm64 depends on libc6');
  const both = resolveDependencies({ universe: universe(MULTI_ARCH), architectures: ['amd64', 'arm64'], want: ['libc6', 'libc6:arm64'] });
  assert.deepEqual(names(both), ['libc6', 'libc6:arm64']);
});

test('Multi-Arch mismatches are errors', () => {
  const options = { universe: universe(MULTI_ARCH), architectures: ['amd64', 'arm64'] };
  throwsUserError(() => resolveDependencies({ ...options, want: ['picky'] }), 'picky depends on plain:any, but plain is not Multi-Arch: allowed');
  throwsUserError(() => resolveDependencies({ ...options, want: ['native-app'] }), 'native-app depends on armonly, but armonly is only available for arm64');
  // As dpkg does, Architecture: all counts as native: it serves another architecture only if Multi-Arch: foreign.
  throwsUserError(() => resolveDependencies({ ...options, want: ['arm-app:arm64'] }), 'arm-app:arm64 depends on data, but data:all is not Multi-Arch: foreign');
  throwsUserError(
    () => resolveDependencies({ ...options, want: ['python3', 'python3:arm64'] }),
    'cannot install requested package "python3:arm64": python3:arm64 cannot be installed beside python3',
  );
  throwsUserError(() => resolveDependencies({ ...options, want: ['tool:riscv64'] }), /architecture riscv64, which this build does not include/);
});

test('an unknown package suggests close names', () => {
  const packages = 'Package: foo\n\nPackage: food\n\nPackage: bar\n\nPackage: foobarbaz';
  throwsUserError(() => resolve(packages, ['fooo']), 'unknown package "fooo"', 'did you mean: foo, food?');
  throwsUserError(() => resolve(packages, ['zzzzzz']), 'unknown package "zzzzzz"', undefined);
});

test('an unsatisfiable version names the chain', () => {
  const packages = `
    Package: top
    Depends: bar

    Package: bar
    Depends: baz (>= 2)

    Package: baz
    Version: 1.0`;
  throwsUserError(() => resolve(packages, ['top']), 'bar depends on baz (>= 2), but only 1.0 is available', 'chain: top (requested) → bar');
  throwsUserError(
    () => resolve(packages.replace('Depends: baz (>= 2)', 'Depends: nothere | baz (>= 2)'), ['top']),
    'bar depends on nothere | baz (>= 2), but no alternative can be installed',
    'nothere: it is not available; baz (>= 2): only 1.0 is available; chain: top (requested) → bar',
  );
});

test('name=version pins a version; a missing one lists what exists', () => {
  const packages = 'Package: baz\nVersion: 1.0\n\nPackage: baz\nVersion: 2.0\n\nPackage: top\nDepends: baz';
  const plan = resolve(packages, ['baz=1.0', 'top']);
  assert.deepEqual(
    plan.packages.map((pkg) => `${pkg.name}=${pkg.version}`),
    ['baz=1.0', 'top=1.0'],
  );
  throwsUserError(() => resolve(packages, ['baz=3']), 'package "baz" has no version 3', 'available: 1.0, 2.0');
  throwsUserError(() => resolve(packages.replace('Depends: baz', 'Depends: baz (>= 2)'), ['baz=1.0', 'top']), /top depends on baz \(>= 2\), but baz 1.0 is selected/);
});

test('selectBaseSet follows mmdebstrap variants, native and all only, each name once', () => {
  const packages = universe(`
    Package: dpkg
    Essential: yes
    Priority: required

    Package: dpkg
    Version: 1.1
    Essential: yes
    Priority: required

    Package: bash
    Architecture: all
    Essential: yes

    Package: mawk
    Priority: required

    Package: foreign-required
    Architecture: arm64
    Priority: required

    Package: apt
    Priority: important

    Package: less
    Priority: important

    Package: bzip2
    Priority: standard

    Package: fun
    Priority: optional`);
  assert.deepEqual(selectBaseSet(packages, 'essential'), ['bash', 'dpkg']);
  assert.deepEqual(selectBaseSet(packages, 'minimal'), ['apt', 'bash', 'dpkg', 'mawk']);
  assert.deepEqual(selectBaseSet(packages, 'standard'), ['apt', 'bash', 'bzip2', 'dpkg', 'less', 'mawk']);
  assert.deepEqual(selectBaseSet(packages, 'minimal', 'arm64'), ['bash', 'foreign-required']);
});

const host = readHostBookwormIndex();

test('the minimal set of the real bookworm index is minbase', { skip: skipOrFail('missing' in host ? host.missing : undefined) }, (t) => {
  if (!('text' in host)) return;
  const started = performance.now();
  const packages = parsePackages(host.text, 'bookworm/main/binary-amd64/Packages');
  const parsed = performance.now();
  const base = selectBaseSet(packages, 'minimal');
  const plan = resolveDependencies({ universe: packages, architectures: ['amd64'], want: base, prefer: ['usr-is-merged'] });
  const resolved = performance.now();
  t.diagnostic(`${packages.length} packages parsed in ${(parsed - started).toFixed(0)} ms, base set + resolution in ${(resolved - parsed).toFixed(0)} ms`);
  const selected = new Set(plan.packages.map((pkg) => pkg.name));
  for (const name of ['dpkg', 'apt', 'base-files', 'usr-is-merged', 'libc6', 'perl-base']) assert.ok(selected.has(name), name);
  for (const name of ['usrmerge', 'perl']) assert.ok(!selected.has(name), name);
  assert.ok(plan.packages.length >= 80 && plan.packages.length <= 100, `${plan.packages.length} packages`);
  assert.equal(plan.reasons.get('usr-is-merged'), 'init-system-helpers depends on usrmerge | usr-is-merged');
});
