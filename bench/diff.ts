/**
 * `kiln diff` against diffoscope (Debian's `diffoscope-minimal`) on two
 * Debian bookworm minimal tars that differ in one package (the second adds
 * `less`), both built by kiln from the host's Debian mirror through the
 * bench proxy. Each tool compares the same two tars and must say they
 * differ (exit 1); its wall clock and peak memory (/usr/bin/time %M, and
 * the sampled process tree) are measured, in alternating runs.
 * Target: kiln at least 10x faster than diffoscope and under 200 MB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { median, type RunResult } from './measure.ts';
import { startProxy } from './proxy.ts';
import { measureRun, type Bench, type Tool } from './runs.ts';
import type { DiskBenchResult } from './disk.ts';

const RELEASE = 'bookworm';
const ADDED_PACKAGE = 'less';
/** diffoscope's wall clock over kiln diff's, at least this. */
export const DIFF_SPEEDUP_TARGET = 10;
/** kiln diff's peak memory, at most this many MB. */
export const DIFF_MEMORY_TARGET_MB = 200;
const DIFFOSCOPE = '/usr/bin/diffoscope';

export function diffPreflight(): string | undefined {
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)';
  return existsSync(DIFFOSCOPE) ? undefined : `missing ${DIFFOSCOPE} (apt-get install diffoscope-minimal)`;
}

function kilnConfig(bench: Bench, install: string[]): string {
  return [
    '# Written by bench/diff.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
    '[distribution]',
    'name = "debian"',
    `release = "${RELEASE}"`,
    `architecture = "${bench.hostArch}"`,
    '',
    '[packages]',
    'base = "minimal"',
    `install = ${JSON.stringify(install)}`,
    '',
    '[output]',
    'format = ["tar"]',
    '',
    '[build]',
    `cache-directory = "${bench.kilnCache}"`,
    '',
  ].join('\n');
}

/** Runs `argv`, and succeeds only when it exits 1 ("they differ"): both tools' way of saying so. */
const expectingDifference = (argv: string[]) => ['sh', '-c', '"$@" >/dev/null; test $? -eq 1', 'sh', ...argv];

const walls = (runs: RunResult[]) => runs.filter((r) => r.code === 0).map((r) => r.wallSeconds);
const peaksMB = (runs: RunResult[]) => runs.filter((r) => r.code === 0).map((r) => Math.max(r.topMaxRssKiB ?? 0, r.treePeakRssKiB) / 1024);

export async function runDiff(bench: Bench): Promise<DiskBenchResult> {
  const mirror = hostMirrorFor('debian') as string;
  const proxy = await startProxy(join(bench.workDir, 'proxy-diff'));
  bench.defer(() => proxy.stop());
  const env = { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxy.urlFor(mirror) };
  const dirs = { a: join(bench.userDir, 'diff-a'), b: join(bench.userDir, 'diff-b') };
  mkdirSync(dirs.a, { recursive: true, mode: 0o755 });
  mkdirSync(dirs.b, { recursive: true, mode: 0o755 });
  writeFileSync(join(dirs.a, 'kiln.toml'), kilnConfig(bench, []));
  writeFileSync(join(dirs.b, 'kiln.toml'), kilnConfig(bench, [ADDED_PACKAGE]));
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
  const tars = { a: join(dirs.a, 'out', 'image.tar'), b: join(dirs.b, 'out', 'image.tar') };
  for (const [side, dir] of Object.entries(dirs)) {
    console.log(`[diff] preparing: kiln build of image ${side}`);
    const built = await measureRun(bench, 'diff', { name: `build-${side}`, output: join(dir, 'out'), argv: [process.execPath, bench.kilnBundle, 'build', '-C', dir], env, cwd: dir }, 'prepare');
    if (built.code !== 0) throw new Error(`the kiln build of image ${side} failed`);
  }
  const scratch = join(bench.userDir, 'diff-scratch');
  const kilnDiff: Tool = { name: 'kiln-diff', output: scratch, argv: expectingDifference([process.execPath, bench.kilnBundle, 'diff', tars.a, tars.b]), env: bench.baseEnv, cwd: bench.userDir };
  const diffoscope: Tool = { name: 'diffoscope', output: scratch, argv: expectingDifference([DIFFOSCOPE, '--no-progress', tars.a, tars.b]), env: bench.baseEnv, cwd: bench.userDir };
  const tools = [diffoscope, kilnDiff];
  const results = new Map<Tool, RunResult[]>(tools.map((t) => [t, []]));
  for (const tool of tools) await measureRun(bench, 'diff', tool, 'warm-up');
  for (let i = 1; i <= bench.runs; i++) for (const tool of tools) results.get(tool)!.push(await measureRun(bench, 'diff', tool, `run ${i}`));

  const kilnSeconds = median(walls(results.get(kilnDiff)!));
  const diffoscopeSeconds = median(walls(results.get(diffoscope)!));
  const kilnMB = median(peaksMB(results.get(kilnDiff)!));
  const diffoscopeMB = median(peaksMB(results.get(diffoscope)!));
  const speedup = kilnSeconds && diffoscopeSeconds !== undefined ? diffoscopeSeconds / kilnSeconds : undefined;
  const summary = {
    kilnDiffMedianSeconds: kilnSeconds,
    diffoscopeMedianSeconds: diffoscopeSeconds,
    speedup,
    speedupTarget: DIFF_SPEEDUP_TARGET,
    speedupPass: speedup === undefined ? undefined : speedup >= DIFF_SPEEDUP_TARGET,
    kilnDiffPeakMB: kilnMB,
    diffoscopePeakMB: diffoscopeMB,
    memoryTargetMB: DIFF_MEMORY_TARGET_MB,
    memoryPass: kilnMB === undefined ? undefined : kilnMB <= DIFF_MEMORY_TARGET_MB,
  };
  const s = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(2)} s`);
  const mb = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(0)} MB`);
  const ok = (p: boolean | undefined) => (p === undefined ? '?' : p ? 'PASS' : 'FAIL');
  const report = [
    '== kiln diff vs diffoscope ==',
    `Two Debian ${RELEASE} ${bench.hostArch} minimal tars, the second with ${ADDED_PACKAGE} added. Both tools must report a difference (exit 1).`,
    `Medians of ${bench.runs} alternating runs; peak memory: the larger of /usr/bin/time's %M and the sampled process tree's RSS.`,
    '',
    `  diffoscope   ${s(diffoscopeSeconds)}  ${mb(diffoscopeMB)}`,
    `  kiln diff    ${s(kilnSeconds)}  ${mb(kilnMB)}   ${speedup?.toFixed(1) ?? '-'}x faster (target >= ${DIFF_SPEEDUP_TARGET}x) ${ok(summary.speedupPass)}; memory (target <= ${DIFF_MEMORY_TARGET_MB} MB) ${ok(summary.memoryPass)}`,
    '',
    ...tools.map((t) => `runs (${t.name}): ${results.get(t)!.map((r) => (r.code === 0 ? r.wallSeconds.toFixed(2) : `exit ${r.code}`)).join(', ')}`),
  ].join('\n');
  const section = {
    date: new Date().toISOString(),
    diffoscope: execFileSync(DIFFOSCOPE, ['--version'], { encoding: 'utf8' }).trim(),
    addedPackage: ADDED_PACKAGE,
    runsPerTool: bench.runs,
    summary,
    runs: Object.fromEntries(tools.map((t) => [t.name, results.get(t)])),
  };
  return { report, section };
}
