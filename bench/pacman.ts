/**
 * kiln against the host's pacman (Debian's pacman-package-manager), building
 * the same Arch trees from the same signed fixture repositories: Arch Linux
 * x86_64 (`$repo/os/$arch`) and Arch Linux ARM aarch64 (`$arch/$repo`).
 *
 * The repositories are of realistic size: test/helpers/fake-arch.ts with
 * BENCH_DEBIAN_SET, the closure of the Debian counterparts of Arch's `base`
 * (about 125 packages, some 190 MB installed, 55 MB of package files).
 *
 * The pacman side is what rootless Arch builders such as aimager do: as the
 * unprivileged user, in a user namespace where it is root with its
 * subordinate ids mapped, `pacman --root`, then the image keyring copied from
 * a keyring populated once (pacman-key --init and --populate) before the
 * timed runs (bench/pacman-root.sh). Both sides have their package cache
 * warm and fetch only the repository databases; both check package
 * signatures and run the scriptlets and hooks. pacman's image gets the
 * populated keyring copied in; kiln's gets none, and the first-boot unit
 * that makes it (src/formats/pacman/keyring.ts). Both write a directory
 * tree, checked after every run (bench/pacman-check.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { machine as hostMachine } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DISTRIBUTIONS } from '../src/catalog/index.ts';
import { findOnPath } from '../src/util/path.ts';
import { fakeArchSkipReason, makeFakeArchRepos, type FakeArchDebianSet, type FakeArchLayout, type FakeArchLayoutName, type FakeArchMachine, type FakeArchPackage, type FakeArchRepos } from '../test/helpers/fake-arch.ts';
import { ensureHostBinfmt } from './binfmt.ts';
import { isRoot, type RunResult } from './measure.ts';
import { checkArchTree, type ArchExpectation } from './pacman-check.ts';
import { serveFixture, type FixtureMirror, type Served } from './pacman-fixture.ts';
import type { CaseResult, Comparison, ToolResult } from './report.ts';
import { alternate, asUser, kilnSteps, measureRun, type Bench, type ComparisonRun, type Tool } from './runs.ts';

/** packages.install on the kiln side; the pacman side installs the same, with the base set and keyring package. */
const INSTALL = ['kiln-hook', 'kiln-group'];
/** Namespace for the pacman side: root in it, the user's subordinate ids mapped, a mount namespace of its own. */
const NAMESPACE = ['unshare', '--map-auto', '--map-root-user', '--mount', '--fork'];
const SCRIPT = fileURLToPath(new URL('./pacman-root.sh', import.meta.url));

/**
 * The Debian counterparts of the packages Arch's `base` depends on (pacman
 * itself, linux-firmware and the like left out); their closure is the bulk of
 * the fixture, and `base` depends on them.
 */
export const BENCH_DEBIAN_SET: FakeArchDebianSet = {
  name: 'bench-base',
  roots: [
    'bzip2', 'coreutils', 'file', 'findutils', 'gawk', 'libgcc-s1', 'gettext-base', 'grep', 'gzip', 'iproute2', 'iputils-ping', 'pciutils', 'procps',
    'psmisc', 'sed', 'passwd', 'login', 'systemd', 'systemd-sysv', 'tar', 'util-linux', 'xz-utils', 'libarchive13', 'less', 'nano',
  ],
};

interface PacmanCase {
  distribution: 'archlinux' | 'archlinuxarm';
  machine: FakeArchMachine;
  /** The fixture's mirror layout. */
  layout: FakeArchLayoutName;
  /** The same machine in Debian's naming (bench/binfmt.ts). */
  debian: string;
}

export const PACMAN_CASES: Record<string, PacmanCase> = {
  'pacman-x86_64': { distribution: 'archlinux', machine: 'x86_64', layout: 'arch', debian: 'amd64' },
  'pacman-aarch64': { distribution: 'archlinuxarm', machine: 'aarch64', layout: 'alarm', debian: 'arm64' },
};

export const pacmanComparison: Comparison = {
  baseline: 'pacman',
  short: 'pacman',
  ratioTargets: { x86_64: 0.7, aarch64: 0.5 },
  wholeLabel: '-Qk ok',
  description: [
    'Same fixture repositories on both sides (test/helpers/fake-arch.ts: Debian binaries as signed pacman packages,',
    'served on 127.0.0.1), of the size of Arch\'s base: `base` depends on the Debian counterparts of what Arch\'s base',
    'pulls in (bench/pacman.ts BENCH_DEBIAN_SET, their closure one package each; sizes in the notes);',
    'packages base, the keyring package, kiln-hook, kiln-group; a directory tree on each side.',
    'kiln: `kiln build` (output.format = ["directory"], build.workspace = tmpfs): resolve, fetch the databases, check',
    '  signatures, unpack, local database, scriptlets, hooks, keyring. Warm: package files in its cache, and its populated',
    '  keyring too (kiln caches the keyring per keyring-package content and gpg version), so timed runs run no gpg.',
    '  aarch64 scriptlets and hooks through QEMU with kiln\'s own binfmt_misc (build.binfmt = auto).',
    `pacman: \`${NAMESPACE.join(' ')} bash pacman-root.sh\` as the user: pacman --root --cachedir --arch`,
    '  --noconfirm -Sy (databases from the mirror, packages from a pre-filled cachedir with their .sig, SigLevel =',
    '  Required DatabaseOptional against a GPGDir made by pacman-key holding the fixture key), then the image keyring:',
    '  a copy (cp -a) of a keyring populated once before the runs, as aimager caches it (pacman-key --init and',
    '  --populate\'s steps on the keyring package\'s usr/share/pacman/keyrings), so timed runs run no key generation.',
    '  aarch64 scriptlets and hooks through the host\'s binfmt_misc (qemu-user-static).',
    'Timed runs fetch only the repository databases on either side (checked); every tree is checked with the host\'s',
    'pacman -Qq/-Qk, the scriptlet and hook marks, and gpg on its keyring. "other" in the steps: process start and exit',
    'and what no log line times (kiln: node start, bundle load, configuration; pacman side: the namespace, bash, mkdir).',
  ],
};

/** Why the comparison cannot run here, or undefined. */
export function pacmanPreflight(caseNames: string[]): string | undefined {
  for (const tool of ['pacman', 'pacman-key', 'unshare', 'gpg', 'gpgconf', 'bash']) if (!findOnPath(tool)) return `${tool} is not installed (pacman-package-manager, gnupg, util-linux)`;
  return fakeArchSkipReason(caseNames.map((n) => (PACMAN_CASES[n] as PacmanCase).machine), undefined, BENCH_DEBIAN_SET);
}

/** What kiln installs (packages.base = "minimal", the keyring package, INSTALL): pacman is asked for the same. */
function requested(c: PacmanCase): string[] {
  const d = DISTRIBUTIONS[c.distribution];
  return [...(d.baseSets?.minimal ?? []), ...(d.keyringPackages ?? []), ...INSTALL];
}

/** What a tree must hold: `base` and its dependencies, the keyring package, INSTALL with its group's members. */
function expectation(repos: FakeArchRepos, c: PacmanCase): ArchExpectation {
  const packages = repos.layouts[c.layout]?.packages[c.machine] ?? [];
  const names = requested(c).flatMap((n) => (n === 'base' ? (repos.baseSet[c.machine] ?? []) : packages.some((p) => p.name === n) ? [n] : packages.filter((p) => p.groups.includes(n)).map((p) => p.name)));
  return { packages: [...new Set(names)], keyFingerprint: repos.keyFingerprint };
}

/** The pacman side's GPGDir, as pacman-key makes it on an Arch host, trusting the fixture's key. */
function makeHostGpgDir(bench: Bench, keyFile: string, fingerprint: string): string {
  const gnupg = join(bench.userDir, 'pacman-gnupg');
  const conf = join(bench.userDir, 'pacman-key.conf');
  writeFileSync(conf, `[options]\nGPGDir = ${gnupg}\n`);
  if (isRoot) execFileSync('chown', [`${bench.user}:`, conf]);
  const key = ['pacman-key', '--config', conf, '--gpgdir', gnupg];
  for (const argv of [[...key, '--init'], [...key, '--add', keyFile], [...key, '--lsign-key', fingerprint], ['gpgconf', '--homedir', gnupg, '--kill', 'all']]) {
    const r = asUser(bench, [...NAMESPACE, ...argv]);
    if (r.status !== 0) throw new Error(`making the pacman side's GPGDir as ${bench.user} in a user namespace (subordinate ids in /etc/subuid and /etc/subgid?): ${argv.join(' ')} failed:\n${r.stderr.trim()}`);
  }
  return gnupg;
}

export async function runPacman(bench: Bench, caseNames: string[]): Promise<ComparisonRun> {
  const chosen = caseNames.map((n) => [n, PACMAN_CASES[n] as PacmanCase] as const);
  const machines = [...new Set(chosen.map(([, c]) => c.machine))];
  console.log(`bench: making the pacman fixture repositories (${machines.join(', ')})`);
  const repos = await makeFakeArchRepos(join(bench.workDir, 'arch-fixture'), { architectures: machines, debianSet: BENCH_DEBIAN_SET });
  const roots: Record<string, string> = { arch: repos.root, ...(repos.alarmRoot ? { alarm: repos.alarmRoot } : {}) };
  const mirror = await serveFixture(roots);
  bench.defer(() => mirror.close());
  console.log(`bench: fixture mirrors ${Object.entries(mirror.urls).map(([n, u]) => `${n} ${u}`).join(', ')}`);
  const keyFile = join(bench.userDir, 'fixture-key.asc');
  copyFileSync(repos.keyring, keyFile);
  chmodSync(keyFile, 0o644);
  copyFileSync(SCRIPT, join(bench.userDir, 'bin', 'pacman-root.sh'));
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
  const gnupg = makeHostGpgDir(bench, keyFile, repos.keyFingerprint);

  const cases: CaseResult[] = [];
  for (const [name, c] of chosen) cases.push(await runCase(bench, repos, mirror, gnupg, keyFile, name, c));
  return {
    comparison: pacmanComparison,
    cases,
    meta: {
      pacman: (execFileSync('pacman', ['--version'], { encoding: 'utf8' }).match(/Pacman v\S+ - libalpm v\S+/) ?? ['?'])[0],
      gpg: execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n')[0],
      namespace: execFileSync('unshare', ['--version'], { encoding: 'utf8' }).trim(),
      mirror: 'test/helpers/fake-arch.ts fixture repositories (Debian binaries as signed pacman packages), served on 127.0.0.1 by bench/arch-mirror.ts',
      debianSet: { ...BENCH_DEBIAN_SET, what: 'Debian bookworm packages whose closure (Pre-Depends, Depends) is in the repositories, one pacman package each; base depends on these' },
      commands: {
        kiln: 'kiln build -C DIR --rebuild (every stage runs, checkpoints written; kiln.toml: distribution name/architecture/mirror/keyring = [fixture key], packages.install = ["kiln-hook", "kiln-group"], output.format = ["directory"])',
        pacman: `${NAMESPACE.join(' ')} bash bench/pacman-root.sh install ROOT CONFIG ARCH CACHEDIR GNUPG PACKAGE...: pacman --root ROOT --config CONFIG --cachedir CACHEDIR --arch ARCH --noconfirm -Sy PACKAGE...; cp -a GNUPG ROOT/etc/pacman.d/gnupg`,
        pacmanKeyring: `once per case, untimed: ${NAMESPACE.join(' ')} bash bench/pacman-root.sh keyring GNUPG KEYRINGS KEYRING CONFIG: pacman-key --init; --populate's steps on the keyring package's usr/share/pacman/keyrings`,
      },
      warm: {
        kiln: 'package files and the populated keyring in build.cache-directory, from the warm-up run',
        pacman: 'CACHEDIR pre-filled with the packages and their .sig files; the populated image keyring made once and copied into each tree (as aimager caches it)',
      },
      workspaces: { kiln: 'kiln default (build.workspace = tmpfs), then the output directory', pacman: 'the output directory itself' },
    },
  };
}

/** What the fixture holds and what a tree installs from it: package count, download (package files) and installed (.PKGINFO size) MB. */
function repositorySize(layout: FakeArchLayout, machine: FakeArchMachine, want: ArchExpectation, cacheDir: string): string {
  const all = layout.packages[machine] ?? [];
  const installed = all.filter((p) => want.packages.includes(p.name));
  const MB = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
  const download = installed.reduce((sum, p) => sum + statSync(join(cacheDir, p.filename)).size, 0);
  return `repositories: ${all.length} packages; a tree installs ${installed.length} of them: ${MB(download)} of package files (download size), ${MB(installed.reduce((sum, p) => sum + p.installedSize, 0))} installed (.PKGINFO size)`;
}

/**
 * The pacman side's keyring cache, made once per case before the runs, as
 * the user in the namespace: pacman-key --init and --populate's steps on the
 * keyring package's own files (bench/pacman-root.sh keyring). Returns a note.
 */
function makeKeyringCache(bench: Bench, k: { dir: string; cacheDir: string; config: string; packages: FakeArchPackage[]; keyringPackage: string; gnupg: string }): string {
  const pkg = k.packages.find((p) => p.name === k.keyringPackage);
  if (!pkg) throw new Error(`the fixture has no ${k.keyringPackage}`);
  const files = join(k.dir, 'keyring-package');
  const started = performance.now();
  for (const argv of [
    ['mkdir', '-p', files],
    ['bsdtar', '-xf', join(k.cacheDir, pkg.filename), '-C', files, 'usr/share/pacman/keyrings'],
    [...NAMESPACE, 'bash', join(bench.userDir, 'bin', 'pacman-root.sh'), 'keyring', k.gnupg, join(files, 'usr/share/pacman/keyrings'), k.keyringPackage.replace(/-keyring$/, ''), k.config],
  ]) {
    const r = asUser(bench, argv);
    if (r.status !== 0) throw new Error(`making the pacman side's keyring cache: ${argv.join(' ')} failed:\n${`${r.stdout}${r.stderr}`.trim()}`);
  }
  return `pacman side: keyring populated once, untimed, in ${((performance.now() - started) / 1000).toFixed(1)} s (pacman-key --init, --populate ${k.keyringPackage.replace(/-keyring$/, '')}); each run copies it`;
}

async function runCase(bench: Bench, repos: FakeArchRepos, mirror: FixtureMirror, gnupg: string, keyFile: string, caseId: string, c: PacmanCase): Promise<CaseResult> {
  const d = DISTRIBUTIONS[c.distribution];
  const layout = repos.layouts[c.layout];
  if (!layout) throw new Error(`the fixture has no ${c.layout} layout`);
  const server = `${mirror.urls[c.layout]}/${layout.pattern}`;
  const want = expectation(repos, c);
  const result: CaseResult = { name: `${d.pretty} ${c.machine} (fixture)`, architecture: c.machine, notes: [], baseline: { runs: [] }, kiln: { runs: [] } };

  // pacman side: configuration, and a cache holding every package of the layout with its signature.
  const pacmanDir = join(bench.userDir, `pacman-${c.machine}`);
  const cacheDir = join(pacmanDir, 'cache');
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  for (const repo of layout.repos) {
    for (const file of readdirSync(layout.dir(c.machine, repo))) if (/\.pkg\.tar\.zst(\.sig)?$/.test(file)) copyFileSync(join(layout.dir(c.machine, repo), file), join(cacheDir, file));
  }
  const config = join(pacmanDir, 'pacman.conf');
  writeFileSync(
    config,
    ['# Written by bench/pacman.ts', '[options]', `Architecture = ${c.machine}`, 'SigLevel = Required DatabaseOptional', `GPGDir = ${gnupg}`, ...layout.repos.flatMap((r) => [`[${r}]`, `Server = ${server}`]), ''].join('\n'),
  );
  const keyringPackage = (d.keyringPackages ?? [])[0] as string;
  const keyringCache = join(pacmanDir, 'keyring-cache');
  const pacman: Tool = {
    name: 'pacman',
    output: join(pacmanDir, 'root'),
    argv: [...NAMESPACE, 'bash', join(bench.userDir, 'bin', 'pacman-root.sh'), 'install', join(pacmanDir, 'root'), config, c.machine, cacheDir, keyringCache, ...requested(c)],
    env: bench.baseEnv,
    cwd: pacmanDir,
    steps: (log) => Object.fromEntries([...log.matchAll(/^bench-phase (.+) (\d+)$/gm)].map((m) => [m[1] as string, Number(m[2]) / 1e6])),
  };

  // kiln side.
  const kilnDir = join(bench.userDir, `kiln-${c.distribution}-${c.machine}`);
  mkdirSync(kilnDir, { recursive: true, mode: 0o755 });
  writeFileSync(
    join(kilnDir, 'kiln.toml'),
    [
      '# Written by bench/pacman.ts',
      '[distribution]',
      `name = "${c.distribution}"`,
      `architecture = "${c.machine}"`,
      `mirror = "${server}"`,
      `keyring = ["${keyFile}"]`,
      '',
      '[packages]',
      'base = "minimal"',
      `install = ${JSON.stringify(INSTALL)}`,
      '',
      '[output]',
      'format = ["directory"]',
      '',
      '[build]',
      `cache-directory = "${bench.kilnCache}"`,
      '',
    ].join('\n'),
  );
  const kiln: Tool = { name: 'kiln', output: join(kilnDir, 'out', 'image'), argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnDir, '--rebuild'], env: bench.baseEnv, cwd: kilnDir, steps: kilnSteps };
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, pacmanDir, kilnDir]);
  result.notes.push(repositorySize(layout, c.machine, want, cacheDir));
  result.notes.push(makeKeyringCache(bench, { dir: pacmanDir, cacheDir, config, packages: layout.packages[c.machine] ?? [], keyringPackage, gnupg: keyringCache }));
  console.log(`[${caseId}] ${result.notes.slice(-2).join('; ')}`);

  if (c.machine !== hostMachine()) {
    try {
      const binfmt = ensureHostBinfmt(c.debian, 'pacman');
      bench.defer(binfmt.undo);
      result.notes.push(binfmt.note);
      console.log(`[${caseId}] ${binfmt.note}`);
    } catch (err) {
      result.baseline.error = `host binfmt: ${(err as Error).message}`;
    }
  }

  const results = new Map<Tool, ToolResult>([[pacman, result.baseline], [kiln, result.kiln]]);
  const fetched = new Map<Tool, Served[]>();
  const run = async (tool: Tool, label: string): Promise<RunResult> => {
    await mirror.take();
    const r = await measureRun(bench, caseId, tool, label);
    const served = await mirror.take();
    if (r.code !== 0) return r;
    const packages = served.filter((s) => /\.pkg\.tar\.[^/]*$/.test(s.path));
    if (label !== 'warm-up') fetched.set(tool, served);
    // kiln's warm-up fills its cache; the pacman side's cache is filled beforehand. No other run may download a package.
    if (label !== 'warm-up' || tool !== kiln) {
      if (packages.length) r.problem = `fetched ${packages.length} package file(s) from the mirror (${packages[0]?.path}, ...): its cache is not warm`;
    }
    const check = checkArchTree(tool.output, want);
    (results.get(tool) as ToolResult).packages = check.packages;
    r.problem ??= check.problem;
    return r;
  };
  await alternate(bench, caseId, [{ tool: pacman, result: result.baseline }, { tool: kiln, result: result.kiln }], run);

  for (const [tool, served] of fetched) {
    const files = served.map((s) => `${s.path.split('/').pop()} ${s.status}`).join(', ');
    result.notes.push(`${tool.name} fetched in its last timed run: ${files || 'nothing'}`);
  }
  if (c.machine !== hostMachine()) result.notes.push('kiln: build.binfmt = auto (its own binfmt_misc in its namespace on Linux >= 6.7)');
  for (const [tool, r] of results) {
    const du = spawnSync('du', ['-s', '--apparent-size', '-B1', tool.output], { encoding: 'utf8' });
    if (du.status === 0 && existsSync(tool.output)) r.outputBytes = Number(du.stdout.split('\t')[0]);
  }
  return result;
}
