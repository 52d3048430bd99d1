/**
 * kiln's apk path against its own deb and pacman paths (case apk-x86_64,
 * apk-aarch64), on fixtures of realistic size: the apk fixture's realistic
 * variant (about 25 packages, 10 MB, alpine-base depending on all; served on
 * 127.0.0.1), the Arch fixture of bench/pacman.ts (base from the Debian set),
 * and Debian bookworm minimal from the host's mirror through the bench proxy.
 * Warm caches (an untimed warm-up of each), then alternating timed runs of
 * `kiln build --rebuild` (apk, pacman, deb, ...); medians of the wall clock,
 * seconds per package and per MB installed, and peak memory.
 *
 * Targets (issue 13): the Alpine tree in under 1.5 s on x86_64 and 3 s on
 * aarch64 (scripts batched in one emulated sandbox), peak memory <= 200 MB.
 *
 * With KILN_BENCH_APK=/path/to/apk (a static apk-tools), the real apk runs
 * too, timed the same way, in a user namespace:
 *   apk --root R --initdb --keys-dir K --repository URL --arch ARCH --no-cache add alpine-base
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { apkFixtureSkipReason, makeApkRepos, type ApkMachine } from '../test/helpers/apk-fixture.ts';
import { fakeArchSkipReason, makeFakeArchRepos } from '../test/helpers/fake-arch.ts';
import type { DiskBenchResult } from './disk.ts';
import { isRoot, median, type RunResult } from './measure.ts';
import { BENCH_DEBIAN_SET } from './pacman.ts';
import { serveFixture } from './pacman-fixture.ts';
import { startProxy } from './proxy.ts';
import { kilnSteps, measureRun, SHM, shmDirectory, type Bench, type Tool } from './runs.ts';

export const APK_CASES = ['apk-x86_64', 'apk-aarch64'];
const MACHINE: Record<string, ApkMachine> = { 'apk-x86_64': 'x86_64', 'apk-aarch64': 'aarch64' };
const DEBIAN_ARCH: Record<ApkMachine, string> = { x86_64: 'amd64', aarch64: 'arm64' };
/** Wall-clock targets of the Alpine tree, seconds. */
export const APK_WALL_TARGET: Record<ApkMachine, number> = { x86_64: 1.5, aarch64: 3 };
export const APK_MEMORY_TARGET_MB = 200;
const NAMESPACE = ['unshare', '--map-auto', '--map-root-user', '--mount', '--fork'];

export function apkPreflight(cases: string[]): string | undefined {
  const machines = cases.map((c) => MACHINE[c] as ApkMachine);
  const real = process.env.KILN_BENCH_APK;
  if (real && !existsSync(real)) return `KILN_BENCH_APK=${real}: no such file`;
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (the deb path and the fixtures need it)';
  return apkFixtureSkipReason(machines, { realistic: true }) ?? fakeArchSkipReason(machines, undefined, BENCH_DEBIAN_SET);
}

interface Path {
  tool: Tool;
  /** Counts installed packages in the finished tree. */
  count(root: string): number;
}

/**
 * The trees are written to a tmpfs (`outputs`, below SHM), not this host's disk: its ext4 has no
 * journal, and there creating a file right after as many were removed (the previous run's tree)
 * costs about 1 ms of kernel time each (the inode allocator skips every recently freed inode),
 * whatever tool writes them: 1-2 s for the Alpine tree's ~1,900 paths, more than the build.
 * Every path, and the real apk, writes to the same tmpfs.
 */
function kilnConfig(lines: string[], bench: Bench, outputs: string, name: string): string {
  return ['# Written by bench/apk.ts', ...lines, '', '[packages]', 'base = "minimal"', '', '[output]', 'format = ["directory"]', `directory = "${join(outputs, name)}"`, '', '[build]', `cache-directory = "${bench.kilnCache}"`, ''].join('\n');
}

function kilnPath(bench: Bench, name: string, lines: string[], outputs: string, env: Record<string, string>, count: (root: string) => number): Path {
  const dir = join(bench.userDir, `apkbench-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'kiln.toml'), kilnConfig(lines, bench, outputs, name));
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, dir]);
  return { tool: { name, output: join(outputs, name, 'image'), argv: [process.execPath, bench.kilnBundle, 'build', '-C', dir, '--rebuild'], env, cwd: dir, steps: kilnSteps }, count };
}

const records = (file: string, re: RegExp) => (existsSync(file) ? (readFileSync(file, 'utf8').match(re) ?? []).length : 0);
const apkCount = (root: string) => records(join(root, 'lib/apk/db/installed'), /^P:/gm);
const pacmanCount = (root: string) => (existsSync(join(root, 'var/lib/pacman/local')) ? readdirSync(join(root, 'var/lib/pacman/local')).filter((n) => n !== 'ALPM_DB_VERSION').length : 0);
const debCount = (root: string) => records(join(root, 'var/lib/dpkg/status'), /^Status: install ok installed$/gm);

/** Bytes of a tree (du, apparent size), as root or in the user's namespace. */
function treeBytes(bench: Bench, root: string): number {
  const argv = ['du', '-sb', root];
  const r = isRoot ? spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' }) : spawnSync(NAMESPACE[0] as string, [...NAMESPACE.slice(1), ...argv], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]) || 0;
}

const walls = (runs: RunResult[]) => runs.filter((r) => r.code === 0 && !r.problem).map((r) => r.wallSeconds);
const peaksMB = (runs: RunResult[]) => runs.filter((r) => r.code === 0).map((r) => Math.max(r.topMaxRssKiB ?? 0, r.treePeakRssKiB) / 1024);

export async function runApk(bench: Bench, cases: string[]): Promise<DiskBenchResult> {
  const machines = [...new Set(cases.map((c) => MACHINE[c] as ApkMachine))];
  console.log(`bench: making the realistic apk fixture and the Arch fixture (${machines.join(', ')})`);
  const apk = await makeApkRepos(join(bench.workDir, 'apk-fixture'), { architectures: machines, realistic: true });
  const arch = await makeFakeArchRepos(join(bench.workDir, 'apk-arch-fixture'), { architectures: machines, debianSet: BENCH_DEBIAN_SET });
  const keys = join(bench.userDir, 'apk-keys');
  cpSync(apk.keysDir, keys, { recursive: true });
  const archKey = join(bench.userDir, 'apk-bench-arch.asc');
  cpSync(arch.keyring, archKey);
  execFileSync('chmod', ['-R', 'a+rX', keys, archKey]);
  const served = await serveFixture({ apk: apk.root, arch: arch.root, ...(arch.alarmRoot ? { alarm: arch.alarmRoot } : {}) });
  bench.defer(() => served.close());
  const proxy = await startProxy(join(bench.workDir, 'proxy-apk'));
  bench.defer(() => proxy.stop());
  const debEnv = { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxy.urlFor(hostMirrorFor('debian') as string) };

  const outputs = shmDirectory(bench, 'apk-outputs', 'the trees are written to a tmpfs');
  const lines: string[] = [
    '== kiln: apk path vs its deb and pacman paths ==',
    `Medians of ${bench.runs} alternating runs of kiln build --rebuild (warm caches); per package and per MB installed (du -sb of the tree).`,
    `Each tree is written (directory output) to a tmpfs, ${SHM}: this host's journal-less ext4 makes creating files right after removing as many cost ~1 ms each.`,
    '',
  ];
  const section: Record<string, unknown> = { date: new Date().toISOString(), runsPerTool: bench.runs, targets: { wallSeconds: APK_WALL_TARGET, memoryMB: APK_MEMORY_TARGET_MB }, cases: {} };
  for (const c of cases) {
    const machine = MACHINE[c] as ApkMachine;
    const alpine = kilnPath(bench, `alpine-${machine}`, ['[distribution]', 'name = "alpine"', 'release = "v3.21"', `architecture = "${machine}"`, `mirror = "${served.urls.apk}/alpine"`, 'repositories = ["main"]', `keyring = ["${keys}"]`], outputs, bench.baseEnv, apkCount);
    const archName = machine === 'x86_64' ? 'archlinux' : 'archlinuxarm';
    const archMirror = machine === 'x86_64' ? `${served.urls.arch}/$repo/os/$arch` : `${served.urls.alarm}/$arch/$repo`;
    const pacman = kilnPath(bench, `pacman-${machine}`, ['[distribution]', `name = "${archName}"`, `architecture = "${machine}"`, `mirror = "${archMirror}"`, `keyring = ["${archKey}"]`], outputs, bench.baseEnv, pacmanCount);
    const deb = kilnPath(bench, `deb-${machine}`, ['[distribution]', 'name = "debian"', 'release = "bookworm"', `architecture = "${DEBIAN_ARCH[machine]}"`], outputs, debEnv, debCount);
    const paths = [alpine, pacman, deb];
    const real = process.env.KILN_BENCH_APK;
    if (real) {
      const root = join(outputs, `apk-real-${machine}`, 'root');
      const argv = [...NAMESPACE, 'sh', '-c', 'mkdir -p "$1" && exec "$2" --root "$1" --initdb --keys-dir "$3" --repository "$4" --arch "$5" --no-cache --quiet add alpine-base', 'sh', root, real, keys, `${served.urls.apk}/alpine/v3.21/main`, machine];
      paths.push({ tool: { name: `apk-${machine}`, output: join(outputs, `apk-real-${machine}`), argv, env: bench.baseEnv, cwd: bench.userDir }, count: () => apkCount(root) });
    }
    const skipped = real ? undefined : `  ${`apk-${machine}`.padEnd(16)} skipped: KILN_BENCH_APK is not set (the path of a static apk-tools to run on the same fixture)`;
    if (skipped) console.log(`bench: ${skipped.trim()}`);
    const results = new Map<Path, RunResult[]>(paths.map((p) => [p, []]));
    for (const p of paths) await measureRun(bench, c, p.tool, 'warm-up');
    for (let i = 1; i <= bench.runs; i++) for (const p of paths) (results.get(p) as RunResult[]).push(await measureRun(bench, c, p.tool, `run ${i}`));
    const rows: Record<string, unknown> = {};
    lines.push(`-- ${c} --`);
    for (const p of paths) {
      const root = p.tool.name.startsWith('apk-') ? join(p.tool.output, 'root') : p.tool.output;
      const packages = p.count(root);
      const mb = treeBytes(bench, root) / 1e6;
      const wall = median(walls(results.get(p) as RunResult[]));
      const peak = median(peaksMB(results.get(p) as RunResult[]));
      const row = { wallSeconds: wall, packages, installedMB: mb, secondsPerPackage: wall !== undefined && packages ? wall / packages : undefined, secondsPerMB: wall !== undefined && mb ? wall / mb : undefined, peakMB: peak, runs: results.get(p) };
      rows[p.tool.name] = row;
      const f = (n: number | undefined, d = 2) => (n === undefined ? '-' : n.toFixed(d));
      const verdict = p === alpine ? `  target < ${APK_WALL_TARGET[machine]} s ${wall !== undefined && wall < APK_WALL_TARGET[machine] ? 'PASS' : 'FAIL'}, <= ${APK_MEMORY_TARGET_MB} MB ${peak !== undefined && peak <= APK_MEMORY_TARGET_MB ? 'PASS' : 'FAIL'}` : '';
      lines.push(`  ${p.tool.name.padEnd(16)} ${f(wall)} s  ${String(packages).padStart(4)} pkgs  ${f(mb, 1).padStart(6)} MB  ${f(row.secondsPerPackage, 3)} s/pkg  ${f(row.secondsPerMB, 3)} s/MB  peak ${f(peak, 0)} MB${verdict}`);
    }
    if (skipped) lines.push(skipped);
    lines.push('');
    (section.cases as Record<string, unknown>)[c] = rows;
  }
  return { report: lines.join('\n'), section };
}
