/**
 * `npm run bench`: kiln against the tools it replaces, as the unprivileged
 * user (KILN_TEST_USER, default kilntest, when run as root), with untimed
 * warm-ups, then alternating timed runs (other tool, kiln, other tool, ...).
 *
 * - kiln vs mmdebstrap (cases amd64, arm64; and kiln alone for the bootable set,
 *   amd64-bootable, arm64-bootable): Debian bookworm minimal from the
 *   host's Debian mirror through a warm apt-cacher-ng (bench/debian.ts);
 * - kiln vs pacman (cases pacman-x86_64, pacman-aarch64): the same Arch trees
 *   from signed fixture repositories on 127.0.0.1 (bench/pacman.ts).
 *
 * - kiln's disk step vs genimage (case disk): the same Debian tree as a
 *   two-partition GPT disk (bench/disk.ts).
 *
 * - kiln diff vs diffoscope (case diff): two Debian bookworm minimal tars
 *   one package apart (bench/diff.ts).
 *
 * - kiln's apk path vs its deb and pacman paths (cases apk-x86_64,
 *   apk-aarch64), and the real apk with KILN_BENCH_APK (bench/apk.ts).
 *
 * - kiln alone, build to login: (cases boot-amd64, boot-arm64): the UEFI
 *   disk built, then booted in QEMU, and the same build with a tar output
 *   (bench/boot.ts).
 *
 *   npm run bench -- [--runs N] [--cases CASE,...] [--json FILE] [--full-bootable] [CASE...]
 *
 * A CASE is a case name or a comparison (mmdebstrap or debian, pacman) for
 * all of its cases; the default is every case. Prints the medians, the
 * ratios kiln/other against the targets, peak memory and package counts, and
 * writes them to bench/results/latest.json (or --json FILE), keeping the
 * results there of the comparison that did not run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, totalmem, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BOOT_CASES, bootPreflight, runBoot, type BootBenchResult } from './boot.ts';
import { DEBIAN_CASES, debianPreflight, runDebian } from './debian.ts';
import { APK_CASES, apkPreflight, runApk } from './apk.ts';
import { diffPreflight, runDiff } from './diff.ts';
import { diskPreflight, runDisk, type DiskBenchResult } from './disk.ts';
import { isRoot, stopCurrent } from './measure.ts';
import { PACMAN_CASES, pacmanPreflight, runPacman } from './pacman.ts';
import { formatReport, resultsSection, toolsOf, writeResults } from './report.ts';
import { removeOutput, type Bench, type ComparisonRun } from './runs.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));

interface ComparisonEntry {
  cases: string[];
  preflight(cases: string[]): string | undefined;
  run(bench: Bench, cases: string[]): Promise<ComparisonRun | DiskBenchResult>;
}

/** Every comparison, keyed as latest.json keys its results. */
const COMPARISONS: Record<'mmdebstrap' | 'pacman' | 'disk' | 'diff' | 'apk' | 'boot', ComparisonEntry> = {
  mmdebstrap: { cases: DEBIAN_CASES, preflight: debianPreflight, run: runDebian },
  pacman: { cases: Object.keys(PACMAN_CASES), preflight: pacmanPreflight, run: runPacman },
  disk: { cases: ['disk'], preflight: diskPreflight, run: (bench) => runDisk(bench) },
  diff: { cases: ['diff'], preflight: diffPreflight, run: (bench) => runDiff(bench) },
  apk: { cases: APK_CASES, preflight: apkPreflight, run: runApk },
  boot: { cases: Object.keys(BOOT_CASES), preflight: bootPreflight, run: runBoot },
};
const ALIASES: Record<string, keyof typeof COMPARISONS> = { debian: 'mmdebstrap' };

const RESULTS = join(repo, 'bench', 'results', 'latest.json');
const USAGE = `usage: npm run bench -- [--runs N] [--cases CASE,...] [--json FILE] [--full-bootable] [CASE...]
  CASE: ${Object.values(COMPARISONS).flatMap((c) => c.cases).join(', ')}, or a comparison for all of its cases: ${[...Object.keys(COMPARISONS), ...Object.keys(ALIASES)].join(', ')}
  --json FILE: where the results go (default ${RESULTS}), merged with what the file holds
  --full-bootable: arm64-bootable also runs with build.emulation = "full" and compares the tars (about 12 minutes a run here)`;

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const { values: opts, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, cases: { type: 'string' }, json: { type: 'string', default: RESULTS }, help: { type: 'boolean', short: 'h' }, 'full-bootable': { type: 'boolean', default: false } },
  allowPositionals: true,
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs: expected a positive whole number, got ${opts.runs}`);

/** The selected cases of each comparison, in the order of COMPARISONS. */
function selectCases(names: string[]): Map<keyof typeof COMPARISONS, string[]> {
  const wanted = new Set<string>();
  for (const name of names) {
    const comparison = ALIASES[name] ?? (name in COMPARISONS ? (name as keyof typeof COMPARISONS) : undefined);
    if (comparison) COMPARISONS[comparison].cases.forEach((c) => wanted.add(c));
    else if (Object.values(COMPARISONS).some((c) => c.cases.includes(name))) wanted.add(name);
    else fail(`unknown case ${name}\n${USAGE}`);
  }
  const all = wanted.size === 0;
  const selected = new Map<keyof typeof COMPARISONS, string[]>();
  for (const [key, c] of Object.entries(COMPARISONS) as [keyof typeof COMPARISONS, ComparisonEntry][]) {
    const cases = c.cases.filter((n) => all || wanted.has(n));
    if (cases.length) selected.set(key, cases);
  }
  return selected;
}
const selected = selectCases([...(opts.cases ?? '').split(',').filter(Boolean), ...positionals]);

// ---- cleanup, also on Ctrl-C / SIGTERM / failure ----
const cleanups: (() => void | Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await (cleanups.pop() as () => void | Promise<void>)();
    } catch (err) {
      console.error(`bench: cleanup: ${(err as Error).message}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping and cleaning up`);
    void stopCurrent().then(cleanup).finally(() => process.exit(130));
  });
}

// ---- preflight ----
const user = isRoot ? process.env.KILN_TEST_USER || 'kilntest' : userInfo().username;
const passwd = spawnSync('getent', ['passwd', user], { encoding: 'utf8' });
if (passwd.status !== 0) fail(`user ${user} does not exist (.ci/run creates it)`);
const home = passwd.stdout.trim().split(':')[5] || '/tmp';
for (const [key, cases] of selected) {
  const problem = COMPARISONS[key].preflight(cases);
  if (problem) fail(`kiln vs ${key}: ${problem}`);
}
if (!existsSync('/usr/bin/time')) {
  if (!isRoot) fail('/usr/bin/time is missing (apt-get install time)');
  console.log('bench: installing the time package (/usr/bin/time)');
  execFileSync('apt-get', ['install', '-y', '-q', 'time'], { stdio: 'inherit' });
}
if (!existsSync(join(repo, 'dist/kiln.mjs'))) fail('dist/kiln.mjs is missing: npm run build');
const hostArch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();

// ---- work area: readable by the user, removed at the end ----
const work = mkdtempSync('/var/tmp/kiln-bench-');
chmodSync(work, 0o755);
const userDir = join(work, 'user');
const bench: Bench = {
  workDir: work,
  user,
  userDir,
  logDir: join(work, 'logs'),
  kilnBundle: join(userDir, 'bin', 'kiln.mjs'),
  kilnCache: join(userDir, 'kiln-cache'),
  baseEnv: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8' },
  runs,
  hostArch,
  fullBootable: opts['full-bootable'] === true,
  defer: (undo) => cleanups.push(undo),
};
cleanups.push(() => rmSync(work, { recursive: true, force: true }));
// Trees made in a user namespace may hold files of the user's subordinate ids.
cleanups.push(() => (existsSync(userDir) ? removeOutput(bench, userDir) : undefined));
for (const d of [userDir, bench.logDir, bench.kilnCache, join(userDir, 'bin')]) mkdirSync(d, { recursive: true, mode: 0o755 });
copyFileSync(join(repo, 'dist/kiln.mjs'), bench.kilnBundle);
chmodSync(bench.kilnBundle, 0o755);
// The bundle's one run-time dependency that cannot be bundled (a prebuilt native module).
cpSync(join(repo, 'node_modules/@napi-rs'), join(userDir, 'bin', 'node_modules/@napi-rs'), { recursive: true });
execFileSync('chmod', ['-R', 'a+rX', join(userDir, 'bin')]);
if (isRoot) execFileSync('chown', ['-R', `${user}:`, userDir]);

async function main(): Promise<number> {
  console.log(`bench: work dir ${work}; user ${user}; ${runs} timed runs per tool and case; cases ${[...selected.values()].flat().join(', ')}`);
  const common = {
    date: new Date().toISOString(),
    host: { kernel: release(), cpus: cpus().length, memoryMB: Math.round(totalmem() / 1e6), arch: hostArch },
    kiln: { version: JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version, commit: gitHead() },
  };
  const done: Partial<Record<keyof typeof COMPARISONS, ComparisonRun>> = {};
  const own: Partial<Record<keyof typeof COMPARISONS, DiskBenchResult>> = {};
  const failed: string[] = [];
  for (const [key, cases] of selected) {
    try {
      const r = await COMPARISONS[key].run(bench, cases);
      if ('report' in r) {
        own[key] = r;
        if ('failures' in r) failed.push(...(r as BootBenchResult).failures);
      } else done[key] = r;
    } catch (err) {
      // The other comparisons still run and are written.
      console.error(`bench: kiln vs ${key}: ${(err as Error).stack ?? err}`);
      failed.push(`kiln vs ${key}: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  const sections: Partial<Record<keyof typeof COMPARISONS, Record<string, unknown>>> = {};
  for (const [key, r] of Object.entries(done) as [keyof typeof COMPARISONS, ComparisonRun][]) {
    console.log(`\n${formatReport(r.comparison, r.cases, runs)}`);
    sections[key] = resultsSection(r.comparison, { ...common, ...r.meta, user, runsPerTool: runs }, r.cases);
  }
  for (const [key, r] of Object.entries(own) as [keyof typeof COMPARISONS, DiskBenchResult][]) {
    console.log(`\n${r.report}`);
    sections[key] = { ...common, user, ...r.section };
  }
  const jsonFile = resolve(opts.json as string);
  const redactions = Object.values(done).flatMap((r) => (r.redact ? [r.redact] : []));
  writeResults(jsonFile, sections, (text) => redactions.reduce((t, redact) => redact(t), text));
  const kept = Object.keys(COMPARISONS).filter((k) => !(k in done) && !(k in own));
  console.log(`\nbench: results written to ${jsonFile}${kept.length ? ` (the ${kept.join(', ')} results there kept as they were)` : ''}`);
  failed.push(...Object.values(done).flatMap((r) => r.cases.flatMap((c) => toolsOf(r.comparison, c).flatMap(([tool, t]) => (t.error ? [`${c.name}, ${tool}: ${t.error}`] : [])))));
  if (failed.length) console.error(`\nbench: FAILED:\n${failed.map((f) => `  ${f}`).join('\n')}`);
  return failed.length ? 1 : 0;
}

function gitHead(): string | undefined {
  const r = spawnSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', repo, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== '';
  return r.status === 0 ? `${r.stdout.trim()}${dirty ? '+dirty' : ''}` : undefined;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`bench: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(code);
