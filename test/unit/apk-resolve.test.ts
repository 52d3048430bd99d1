/**
 * The apk resolver on repositories built in memory, against apk's documented
 * rules (apk-package(5), apk-world(5)): versioned constraints, so:/cmd:/pc:
 * provides with and without versions, provider_priority, the named package
 * over a provider, install_if, conflicts, "nothing provides" naming who
 * asked, and repository pins (apk-repositories(5), apk-world(5): a `@tag`
 * repository serves only what is pinned to it, `name@tag`, and what that
 * pulls in).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveApk } from '../../src/formats/apk/resolve.ts';
import type { ApkPackage, ApkRepository } from '../../src/formats/apk/types.ts';
import { UserError } from '../../src/util/errors.ts';

/** `name-version` with fields: D (depends), p (provides), i (install_if), k (provider_priority). */
function pkg(spec: string, f: { D?: string; p?: string; i?: string; k?: number } = {}): ApkPackage {
  const at = spec.search(/-\d/);
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  const list = (s?: string) => (s ? s.split(' ') : []);
  return {
    repo: 'main', checksum: `Q1${name}${version}`, name, version, arch: 'x86_64', size: 1, installedSize: 1, description: '', url: '', license: 'MIT',
    depends: list(f.D), provides: list(f.p), installIf: list(f.i), ...(f.k !== undefined ? { providerPriority: f.k } : {}),
  };
}

const repo = (...packages: ApkPackage[]): ApkRepository[] => [{ name: 'main', packages }];
const solve = (repos: ApkRepository[], ...targets: string[]) => resolveApk({ repositories: repos, targets, origins: new Map(targets.map((t) => [t, `packages.install, kiln.toml:${targets.indexOf(t) + 1}`])) });
const names = (r: ReturnType<typeof solve>) => r.packages.map((p) => `${p.name}-${p.version}`);

test('the newest version of a name, with its dependencies first', () => {
  const r = solve(repo(pkg('app-1.0-r0', { D: 'lib' }), pkg('app-1.2-r0', { D: 'lib>=2' }), pkg('lib-1.9-r0'), pkg('lib-2.1-r0')), 'app');
  assert.deepEqual(names(r), ['lib-2.1-r0', 'app-1.2-r0']);
  assert.equal(r.reasons.get('lib'), 'app depends on it');
  assert.equal(r.reasons.get('app'), 'requested');
});

test('versioned constraints: = < <= > >= ~ pick what apk picks', () => {
  const versions = repo(pkg('x-1.0-r0'), pkg('x-1.2.3-r0'), pkg('x-1.2.9-r1'), pkg('x-1.3-r0'), pkg('x-2.0_rc1-r0'));
  const pick = (t: string) => names(solve(versions, t));
  assert.deepEqual(pick('x=1.2.3-r0'), ['x-1.2.3-r0']);
  assert.deepEqual(pick('x<1.2.3'), ['x-1.0-r0']);
  assert.deepEqual(pick('x<=1.2.3-r0'), ['x-1.2.3-r0']);
  assert.deepEqual(pick('x>1.3'), ['x-2.0_rc1-r0']);
  assert.deepEqual(pick('x>=1.3'), ['x-2.0_rc1-r0']);
  // 2.0_rc1 is older than 2.0 (a pre-release suffix), so it meets <2.0.
  assert.deepEqual(pick('x<2.0'), ['x-2.0_rc1-r0']);
  assert.deepEqual(pick('x<2.0_rc1'), ['x-1.3-r0']);
  assert.deepEqual(pick('x~1.2'), ['x-1.2.9-r1']);
  assert.deepEqual(pick('x=~1.2.3'), ['x-1.2.3-r0']);
});

test('a later constraint on a chosen name makes apk choose it again', () => {
  const r = solve(repo(pkg('a-1-r0', { D: 'lib' }), pkg('b-1-r0', { D: 'lib<2' }), pkg('lib-1.5-r0'), pkg('lib-2.0-r0')), 'a', 'b');
  assert.deepEqual(names(r).sort(), ['a-1-r0', 'b-1-r0', 'lib-1.5-r0']);
});

test('so: and pc: provides with versions are chosen for a dependency on them', () => {
  const r = solve(repo(pkg('app-1-r0', { D: 'so:libz.so.1 pc:zlib>=1.3' }), pkg('zlib-1.3.1-r0', { p: 'so:libz.so.1=1.3.1 pc:zlib=1.3.1' })), 'app');
  assert.deepEqual(names(r), ['zlib-1.3.1-r0', 'app-1-r0']);
});

test('cmd: provides without a version: chosen by provider_priority, highest first', () => {
  const r = solve(repo(pkg('app-1-r0', { D: 'cmd:sh' }), pkg('busybox-1.36-r0', { p: 'cmd:sh', k: 100 }), pkg('dash-0.5-r0', { p: 'cmd:sh', k: 200 })), 'app');
  assert.deepEqual(names(r), ['dash-0.5-r0', 'app-1-r0']);
});

test('the package of that very name beats a provider of it, even a prioritised one', () => {
  const r = solve(repo(pkg('sh-1-r0'), pkg('busybox-1.36-r0', { p: 'sh=1', k: 100 })), 'sh');
  assert.deepEqual(names(r), ['sh-1-r0']);
});

test('a provider already chosen meets a dependency on what it provides', () => {
  const r = solve(repo(pkg('app-1-r0', { D: 'cmd:sh' }), pkg('busybox-1.36-r0', { p: 'cmd:sh', k: 1 }), pkg('dash-0.5-r0', { p: 'cmd:sh', k: 200 })), 'busybox', 'app');
  assert.deepEqual(names(r), ['busybox-1.36-r0', 'app-1-r0']);
});

test('several providers of a virtual name and no priority: an error that lists them', () => {
  const repos = repo(pkg('app-1-r0', { D: 'editor' }), pkg('vim-9-r0', { p: 'editor' }), pkg('nano-8-r0', { p: 'editor' }));
  assert.throws(() => solve(repos, 'app'), (e: unknown) => e instanceof UserError && /editor is a virtual name that nano, vim provide/.test(e.message) && /app 1-r0 depends on it/.test(e.message));
  // The user's choice settles it.
  assert.deepEqual(names(solve(repos, 'nano', 'app')), ['nano-8-r0', 'app-1-r0']);
});

test('install_if: a package joins when all its conditions hold, not before', () => {
  const repos = repo(pkg('foo-1-r0'), pkg('docs-1-r0'), pkg('foo-doc-1-r0', { i: 'foo=1-r0 docs' }), pkg('bar-1-r0'));
  assert.deepEqual(names(solve(repos, 'foo')), ['foo-1-r0']);
  const r = solve(repos, 'foo', 'docs');
  assert.deepEqual(names(r), ['foo-1-r0', 'docs-1-r0', 'foo-doc-1-r0']);
  assert.equal(r.reasons.get('foo-doc'), 'installed because foo and docs are');
});

test('!conflicts: refused when both would be installed', () => {
  const repos = repo(pkg('a-1-r0', { D: '!b' }), pkg('b-1-r0'), pkg('c-1-r0', { D: '!b<1' }));
  assert.throws(() => solve(repos, 'a', 'b'), /a 1-r0 conflicts with b 1-r0 \(!b\)/);
  assert.deepEqual(names(solve(repos, 'c', 'b')).sort(), ['b-1-r0', 'c-1-r0']);
});

test('two packages that provide the same name with a version cannot both be installed', () => {
  const repos = repo(pkg('a-1-r0', { p: 'libx=1' }), pkg('b-1-r0', { p: 'libx=1' }));
  assert.throws(() => solve(repos, 'a', 'b'), /both provide libx/);
});

test('"nothing provides X" is one line that names who asked for it', () => {
  const repos = repo(pkg('app-1-r0', { D: 'so:libmissing.so.3' }));
  assert.throws(() => solve(repos, 'app'), (e: unknown) => e instanceof UserError && e.message === 'nothing provides so:libmissing.so.3, asked for by app 1-r0 depends on it');
  assert.throws(() => solve(repos, 'nosuch'), (e: unknown) => e instanceof UserError && e.message === 'nothing provides nosuch, asked for by packages.install, kiln.toml:1');
  assert.throws(() => solve(repos, 'app>2'), /no version of app matches app>2/);
});

/** main (untagged) and edge (tagged @edge), each package moved into its repository. */
function tagged(main: ApkPackage[], edge: ApkPackage[]): ApkRepository[] {
  return [{ name: 'main', packages: main }, { name: 'edge-main', tag: 'edge', packages: edge.map((p) => ({ ...p, repo: 'edge-main' })) }];
}
const from = (r: ReturnType<typeof solve>) => r.packages.map((p) => `${p.name}-${p.version}@${p.repo}`).sort();

test('a tagged repository is not used by default, even where it has a newer version', () => {
  const repos = tagged([pkg('app-1.0-r0')], [pkg('app-2.0-r0'), pkg('edgeonly-1-r0')]);
  assert.deepEqual(from(solve(repos, 'app')), ['app-1.0-r0@main']);
  assert.throws(
    () => solve(repos, 'edgeonly'),
    (e: unknown) => e instanceof UserError && e.message === 'edgeonly is only in the repositories tagged @edge, which are not used by default (asked for by packages.install, kiln.toml:1)' && /edgeonly@edge/.test(e.hint ?? ''),
  );
  assert.throws(() => solve(repos, 'app>=2'), /app>=2 is only in the repositories tagged @edge/);
});

test('name@tag takes the tagged repository\'s package, preferred over the untagged one whatever the versions', () => {
  assert.deepEqual(from(solve(tagged([pkg('app-1.0-r0')], [pkg('app-2.0-r0')]), 'app@edge')), ['app-2.0-r0@edge-main']);
  assert.deepEqual(from(solve(tagged([pkg('app-3.0-r0')], [pkg('app-2.0-r0')]), 'app@edge')), ['app-2.0-r0@edge-main'], 'the pinned repository first, then the version');
  // Only the untagged repository has it: a pin allows the untagged repositories too.
  assert.deepEqual(from(solve(tagged([pkg('app-1.0-r0')], []), 'app@edge')), ['app-1.0-r0@main']);
  // A version constraint with the pin: name@tag>=version.
  assert.deepEqual(from(solve(tagged([pkg('app-1.0-r0')], [pkg('app-2.0-r0'), pkg('app-2.5-r0')]), 'app@edge<2.5')), ['app-2.0-r0@edge-main']);
});

test('a pinned package\'s dependencies may come from its tag, but prefer the untagged repositories', () => {
  const repos = tagged([pkg('lib-1.0-r0'), pkg('other-1-r0')], [pkg('app-2.0-r0', { D: 'lib edgelib other' }), pkg('lib-1.5-r0'), pkg('edgelib-1-r0')]);
  // lib: main's, though edge's is newer; edgelib: only edge has it, and the pin is inherited.
  assert.deepEqual(from(solve(repos, 'app@edge')), ['app-2.0-r0@edge-main', 'edgelib-1-r0@edge-main', 'lib-1.0-r0@main', 'other-1-r0@main']);
  // A dependency only the tagged repository meets, by version.
  const newer = tagged([pkg('lib-1.0-r0')], [pkg('app-2.0-r0', { D: 'lib>=1.5' }), pkg('lib-1.5-r0')]);
  assert.deepEqual(from(solve(newer, 'app@edge')), ['app-2.0-r0@edge-main', 'lib-1.5-r0@edge-main']);
  // Without the pin, nothing of edge: an untagged package's dependency cannot reach it.
  const unpinned = tagged([pkg('app-1-r0', { D: 'edgelib' })], [pkg('edgelib-1-r0')]);
  assert.throws(() => solve(unpinned, 'app'), /edgelib is only in the repositories tagged @edge, which are not used by default \(asked for by app 1-r0 depends on it\)/);
});

test('install_if from a tagged repository joins only for a package that carries its pin', () => {
  const edge = [pkg('app-2-r0'), pkg('app-doc-2-r0', { i: 'app docs' })];
  const main = [pkg('app-1-r0'), pkg('docs-1-r0')];
  assert.deepEqual(from(solve(tagged(main, edge), 'app@edge', 'docs')), ['app-2-r0@edge-main', 'app-doc-2-r0@edge-main', 'docs-1-r0@main']);
  assert.deepEqual(from(solve(tagged(main, edge), 'app', 'docs')), ['app-1-r0@main', 'docs-1-r0@main']);
});

test('a pin to a tag no repository has is one line naming the item and the tags there are', () => {
  const repos = tagged([pkg('app-1-r0')], []);
  assert.throws(() => solve(repos, 'app@testing'), (e: unknown) => e instanceof UserError && e.message === 'app@testing (packages.install, kiln.toml:1) is pinned to @testing, but no repository is tagged testing (tags: edge)');
  assert.throws(() => solve(repos, 'app@'), /not an apk dependency: "app@"/);
});

/** Whether `from` depends, directly or not, on `to`. */
function reaches(byName: Map<string, ApkPackage>, from: string, to: string, seen = new Set<string>()): boolean {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  return (byName.get(from)?.depends ?? []).some((d) => reaches(byName, d.split('>=')[0] as string, to, seen));
}

test('generated repositories: every chosen set is closed under dependencies and free of conflicts', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  for (let round = 0; round < 200; round++) {
    const count = 3 + rand(8);
    const packages: ApkPackage[] = [];
    for (let i = 0; i < count; i++) {
      for (let v = 1; v <= 1 + rand(3); v++) {
        const deps = Array.from({ length: rand(3) }, () => {
          const j = rand(count);
          return j === i ? '' : rand(2) ? `p${j}` : `p${j}>=${1 + rand(2)}`;
        }).filter(Boolean);
        packages.push(pkg(`p${i}-${v}-r0`, { D: deps.join(' ') }));
      }
    }
    const target = `p${rand(count)}`;
    let r: ReturnType<typeof solve>;
    try {
      r = solve(repo(...packages), target);
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
      continue;
    }
    const byName = new Map(r.packages.map((p) => [p.name, p]));
    assert.equal(byName.size, r.packages.length, 'one package per name');
    assert.ok(byName.has(target));
    r.packages.forEach((p, index) => {
      for (const d of p.depends) {
        const [name, min] = d.split('>=') as [string, string | undefined];
        const dep = byName.get(name);
        assert.ok(dep, `${p.name} needs ${d}`);
        if (min) assert.ok(Number(dep.version.split('-')[0]) >= Number(min), `${p.name} needs ${d}, got ${dep.version}`);
        // Dependencies come first, except inside a dependency cycle (the dependency then reaches back to p).
        if (r.packages.indexOf(dep) > index) assert.ok(reaches(byName, dep.name, p.name), `${dep.name} after ${p.name}`);
      }
    });
  }
});
