/**
 * Real pacman repositories for tests, made from real Debian bookworm binaries:
 * busybox, glibc and bash repackaged merged-/usr as .pkg.tar.zst (built with
 * bsdtar the way makepkg does), signed with a throwaway OpenPGP key, indexed
 * with the real repo-add (so the database carries %PGPSIG%). Two mirror
 * layouts: Arch Linux (`$repo/os/$arch`, repos core and extra) and, for
 * aarch64, Arch Linux ARM (`$arch/$repo`, repos core, extra and alarm).
 *
 * With `debianSet` (test/helpers/fake-arch-debian-set.ts), the repositories
 * also hold the closure of more Debian packages, one pacman package each,
 * and `base` depends on the set's roots: a repository of realistic size.
 *
 * The parts: what the repositories hold (fake-arch-specs.ts), how one
 * package is made (fake-arch-package.ts), and what any format's fixture can
 * reuse: the .debs from the host's Debian mirror (fixture-debs.ts), keys
 * (fixture-keys.ts), staging trees (fixture-tree.ts), tampered copies
 * (fixture-variants.ts) and the fixture cache (fixture-cache.ts), where
 * finished repositories are kept, keyed by these files' text and the .debs,
 * so a warm run only copies a directory.
 */
import { mkdir, mkdtemp, cp, lstat, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { run } from '../../src/util/run.ts';
import { buildPackage, pack, repoAdd } from './fake-arch-package.ts';
import { closure, FAKE_ARCH_DEBS, fakeArchSpecs } from './fake-arch-specs.ts';
import type { FakeArchDebianSet, FakeArchLayout, FakeArchLayoutName, FakeArchMachine, FakeArchPackage, FakeArchRepos, FakeArchVariant, FakeArchVariantKind } from './fake-arch-types.ts';
import { cachedBuild, defaultFixtureCache, fileSha256, helpersDigest, limiter, restoreBuild, storeBuild } from './fixture-cache.ts';
import { fetchFixtureDebs, fixtureDebsCached, type FixtureDeb, type FixtureDebsRequest } from './fixture-debs.ts';
import { makeKey, readSecretKey, signDetached } from './fixture-keys.ts';
import { writeEntry } from './fixture-tree.ts';
import { copyForVariant, TAMPER_PATH, tamperEntry } from './fixture-variants.ts';
import { missingTools } from './host-tools.ts';

export type * from './fake-arch-types.ts';
export { archVersion } from './fake-arch-specs.ts';

const DEBIAN_ARCH: Record<FakeArchMachine, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const LAYOUTS = {
  arch: { pattern: '$repo/os/$arch', repos: ['core', 'extra'], dir: (a: string, r: string) => join(r, 'os', a), keyring: 'archlinux' },
  alarm: { pattern: '$arch/$repo', repos: ['core', 'extra', 'alarm'], dir: (a: string, r: string) => join(a, r), keyring: 'archlinuxarm' },
} as const;
/** Every file whose text changes what a build makes: part of the cache key. */
const SOURCES = ['fake-arch.ts', 'fake-arch-specs.ts', 'fake-arch-package.ts', 'fixture-debs.ts', 'fixture-keys.ts', 'fixture-tree.ts', 'fixture-cache.ts'];
/** What the cache keeps of a build; manifest.json is written last. */
const CACHED = ['repo', 'repo-alarm', 'keys', 'manifest.json'];

export function defaultFakeArchCache(): string {
  return defaultFixtureCache();
}

function debsRequest(machine: FakeArchMachine, cacheDir: string, debianSet?: FakeArchDebianSet): FixtureDebsRequest {
  return { cacheDir, debianArch: DEBIAN_ARCH[machine], names: FAKE_ARCH_DEBS, debianSet };
}

/** Why the repositories cannot be made here, or undefined when they can. */
export function fakeArchSkipReason(architectures: FakeArchMachine[], cacheDir = defaultFakeArchCache(), debianSet?: FakeArchDebianSet): string | undefined {
  const tools = missingTools(['repo-add', 'bsdtar', 'dpkg-deb']);
  if (tools) return tools;
  const warm = architectures.every((a) => fixtureDebsCached(debsRequest(a, cacheDir, debianSet)));
  if (!warm && !hostMirrorFor('debian')) return 'the host has no Debian mirror to take busybox, libc6 and bash from';
  return undefined;
}

interface Manifest {
  keyFingerprint: string;
  unknownKeyFingerprint: string;
  layouts: Partial<Record<FakeArchLayoutName, Partial<Record<FakeArchMachine, FakeArchPackage[]>>>>;
}

const layoutRoot = (dir: string, name: FakeArchLayoutName) => join(dir, name === 'arch' ? 'repo' : 'repo-alarm');

async function build(dir: string, debs: Map<FakeArchMachine, FixtureDeb[]>): Promise<Manifest> {
  const work = join(dir, 'build');
  const keysDir = join(dir, 'keys');
  await mkdir(keysDir, { recursive: true });
  const key = await makeKey(keysDir, 'packager', 'kiln test packager');
  const unknown = await makeKey(keysDir, 'unknown', 'kiln test unknown packager');
  const trees = new Map<string, Promise<string>>();
  const debTree = (machine: FakeArchMachine) => (name: string) => {
    const id = `${machine}/${name}`;
    if (!trees.has(id)) {
      const deb = debs.get(machine)?.find((d) => d.name === name);
      if (!deb) throw new Error(`no ${name} for ${machine}`);
      const tree = join(work, 'debs', id);
      trees.set(id, mkdir(tree, { recursive: true }).then(() => run('dpkg-deb', ['-x', deb.path, tree])).then(() => tree));
    }
    return trees.get(id) as Promise<string>;
  };
  const built = new Map<string, Promise<Omit<FakeArchPackage, 'repo'>>>();
  // A Debian set has a hundred packages or more: not all of their bsdtar and zstd at once.
  const slot = limiter(Math.max(2, availableParallelism()));
  const manifest: Manifest = { keyFingerprint: key.fingerprint, unknownKeyFingerprint: unknown.fingerprint, layouts: {} };
  // Arch Linux ARM's layout for x86_64 too, beside aarch64: where an aarch64 build's native twins come from (the same repositories for the host's architecture).
  const jobs: [FakeArchLayoutName, FakeArchMachine][] = [...debs.keys()].flatMap((m) => (debs.has('aarch64') ? [['arch', m], ['alarm', m]] : [['arch', m]]) as [FakeArchLayoutName, FakeArchMachine][]);
  await Promise.all(
    jobs.map(async ([layout, machine]) => {
      const packages = await Promise.all(
        fakeArchSpecs(machine, LAYOUTS[layout].keyring, debs.get(machine) ?? [], key).map(async (spec) => {
          const id = `${spec.name}-${spec.version}-${spec.arch}`;
          if (!built.has(id)) built.set(id, mkdir(join(work, 'out'), { recursive: true }).then(() => slot(() => buildPackage(spec, join(work, 'stage', machine), join(work, 'out'), debTree(machine), key))));
          const pkg = { ...(await (built.get(id) as Promise<Omit<FakeArchPackage, 'repo'>>)), repo: spec.repo[layout] };
          const repoDir = join(layoutRoot(dir, layout), LAYOUTS[layout].dir(machine, pkg.repo));
          await mkdir(repoDir, { recursive: true });
          for (const suffix of ['', '.sig']) await cp(join(work, 'out', pkg.filename + suffix), join(repoDir, pkg.filename + suffix));
          return pkg;
        }),
      );
      for (const repo of LAYOUTS[layout].repos) {
        await repoAdd(join(layoutRoot(dir, layout), LAYOUTS[layout].dir(machine, repo)), repo, packages.filter((p) => p.repo === repo).map((p) => p.filename));
      }
      (manifest.layouts[layout] ??= {})[machine] = packages;
    }),
  );
  await rm(work, { recursive: true, force: true });
  return manifest;
}

// --------------------------------------------------------------- variants

async function makeVariant(dir: string, layout: FakeArchLayout, kind: FakeArchVariantKind, name: string): Promise<FakeArchVariant> {
  const root = await copyForVariant(layout.root, kind, name, 'busybox');
  const unknown = kind === 'unknown-key' ? await readSecretKey(join(dir, 'keys'), 'unknown') : undefined;
  const changed: FakeArchVariant['changed'] = {};
  const machines = Object.entries(layout.packages) as [FakeArchMachine, FakeArchPackage[]][];
  await Promise.all(
    machines.map(async ([machine, packages]) => {
      const pkg = packages.find((p) => p.name === name);
      if (!pkg) throw new Error(`no package ${name} in the ${layout.name} layout for ${machine}`);
      const repoDir = join(root, LAYOUTS[layout.name].dir(machine, pkg.repo));
      const file = join(repoDir, pkg.filename);
      const work = await mkdtemp(join(dir, 'variant-'));
      await run('bsdtar', ['-xpf', file, '-C', work]);
      await rm(join(work, '.MTREE'));
      await writeEntry(work, TAMPER_PATH, tamperEntry(name, kind));
      const files = await pack(work, `${file}.tmp`, (await lstat(file)).size);
      await rename(`${file}.tmp`, file);
      await rm(work, { recursive: true, force: true });
      if (unknown) await signDetached(file, unknown);
      if (kind !== 'tampered') await repoAdd(repoDir, pkg.repo, [pkg.filename]);
      changed[machine] = { ...pkg, files, sha256: await fileSha256(file) };
    }),
  );
  return { kind, root, changed };
}

/**
 * A copy of a layout where one architecture's `name` is repacked with
 * `version` in its .PKGINFO, signed with `key` (the packager's: a genuine
 * package, at a version no other architecture has; the unknown key's: one
 * the keyring refuses) and indexed in place of the original.
 */
async function makeRepacked(dir: string, layout: FakeArchLayout, machine: FakeArchMachine, name: string, version: string, key: 'packager' | 'unknown'): Promise<string> {
  const root = `${layout.root}-${machine}-${name}-${version.replace(/[^\w.+-]/g, '_')}-${key}`;
  await rm(root, { recursive: true, force: true });
  await cp(layout.root, root, { recursive: true, verbatimSymlinks: true });
  const pkg = layout.packages[machine]?.find((p) => p.name === name);
  if (!pkg) throw new Error(`no package ${name} in the ${layout.name} layout for ${machine}`);
  const repoDir = join(root, LAYOUTS[layout.name].dir(machine, pkg.repo));
  const work = await mkdtemp(join(dir, 'reversion-'));
  await run('bsdtar', ['-xpf', join(repoDir, pkg.filename), '-C', work]);
  await rm(join(work, '.MTREE'));
  const pkginfo = join(work, '.PKGINFO');
  await writeFile(pkginfo, (await readFile(pkginfo, 'utf8')).replace(/^pkgver = .*$/m, `pkgver = ${version}`));
  const filename = pkg.filename.replace(`-${pkg.version}-`, `-${version}-`);
  if (filename === pkg.filename) await writeEntry(work, TAMPER_PATH, tamperEntry(name, 'unknown-key'));
  await rm(join(repoDir, pkg.filename));
  await rm(join(repoDir, `${pkg.filename}.sig`));
  await pack(work, join(repoDir, filename));
  await signDetached(join(repoDir, filename), await readSecretKey(join(dir, 'keys'), key));
  await repoAdd(repoDir, pkg.repo, [filename]);
  await rm(work, { recursive: true, force: true });
  return root;
}

// ------------------------------------------------------------------- entry

/**
 * Makes the repositories under `dir` (dir/repo, dir/repo-alarm, dir/keys) for
 * the given architectures. Downloads the .debs only when `cacheDir` does not
 * have them yet; reuses a finished build of the same inputs.
 */
export async function makeFakeArchRepos(dir: string, opts: { architectures: FakeArchMachine[]; cacheDir?: string; debianSet?: FakeArchDebianSet }): Promise<FakeArchRepos> {
  const cacheDir = opts.cacheDir ?? defaultFakeArchCache();
  const machines = [...new Set(opts.architectures)].sort();
  const debs = new Map(await Promise.all(machines.map(async (m) => [m, await fetchFixtureDebs(debsRequest(m, cacheDir, opts.debianSet))] as const)));
  const inputs = helpersDigest(SOURCES);
  for (const [m, list] of debs) inputs.update(`${m}:${list.map((d) => d.sha256 + (d.set ? `>${d.set.depends.join(' ')}` : '')).join(',')};`);
  const cached = cachedBuild(cacheDir, inputs.digest('hex').slice(0, 32), CACHED, 'manifest.json');
  await mkdir(dir, { recursive: true });
  let manifest: Manifest;
  if (await restoreBuild(cached, dir)) {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } else {
    manifest = await build(dir, debs);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await storeBuild(cached, dir);
  }
  return assemble(dir, manifest);
}

function assemble(dir: string, manifest: Manifest): FakeArchRepos {
  const layout = (name: FakeArchLayoutName): FakeArchLayout => {
    const root = layoutRoot(dir, name);
    return { name, root, pattern: LAYOUTS[name].pattern, repos: [...LAYOUTS[name].repos], packages: manifest.layouts[name] ?? {}, dir: (a, r) => join(root, LAYOUTS[name].dir(a, r)) };
  };
  const arch = layout('arch');
  const alarm = manifest.layouts.alarm ? layout('alarm') : undefined;
  const variants = new Map<string, Promise<FakeArchVariant>>();
  const repacked = new Map<string, Promise<string>>();
  return {
    root: arch.root,
    alarmRoot: alarm?.root,
    layouts: { arch, alarm },
    keyring: join(dir, 'keys', 'packager.asc'),
    keyringBinary: join(dir, 'keys', 'packager.gpg'),
    keyFingerprint: manifest.keyFingerprint,
    unknownKeyring: join(dir, 'keys', 'unknown.asc'),
    unknownKeyFingerprint: manifest.unknownKeyFingerprint,
    packages: arch.packages,
    baseSet: Object.fromEntries(Object.entries(arch.packages).map(([m, list]) => [m, closure(list, 'base')])),
    variant(kind, opts = {}) {
      const which = opts.layout === 'alarm' ? alarm : arch;
      if (!which) return Promise.reject(new Error('the alarm layout needs aarch64 among the architectures'));
      const id = `${which.name}/${kind}/${opts.package ?? 'busybox'}`;
      if (!variants.has(id)) variants.set(id, makeVariant(dir, which, kind, opts.package ?? 'busybox'));
      return variants.get(id) as Promise<FakeArchVariant>;
    },
    repacked(opts) {
      const which = opts.layout === 'alarm' ? alarm : arch;
      if (!which) return Promise.reject(new Error('the alarm layout needs aarch64 among the architectures'));
      const original = which.packages[opts.machine]?.find((p) => p.name === opts.package)?.version ?? '';
      const version = opts.version ?? original;
      const id = `${which.name}/${opts.machine}/${opts.package}/${version}/${opts.key ?? 'packager'}`;
      if (!repacked.has(id)) repacked.set(id, makeRepacked(dir, which, opts.machine, opts.package, version, opts.key ?? 'packager'));
      return repacked.get(id) as Promise<string>;
    },
  };
}

/** A copy of the fixture's public key that the unprivileged test user can read (the fixture directory is private). */
export function readableKeyring(repos: FakeArchRepos, label: string): string {
  const keys = mkdtempSync(join(tmpdir(), `kiln-${label}-keys-`));
  chmodSync(keys, 0o755);
  const keyring = join(keys, 'fixture.asc');
  copyFileSync(repos.keyring, keyring);
  chmodSync(keyring, 0o644);
  return keyring;
}
