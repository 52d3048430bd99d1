/**
 * `npm run bench`: kiln against mmdebstrap, building the same Debian bookworm
 * minimal root filesystems (88 packages) from the host's Debian mirror through
 * one private, warm apt-cacher-ng on 127.0.0.1. Runs alternate (mmdebstrap,
 * kiln, mmdebstrap, kiln, ...) after one untimed warm-up of each, all as the
 * unprivileged user (KILN_TEST_USER, default kilntest, when run as root).
 *
 *   npm run bench -- [--runs N] [--cases amd64,arm64]
 *
 * Prints the medians, the ratio kiln/mmdebstrap against the targets, peak
 * memory and package counts; writes the same to bench/results/latest.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { ensureHostBinfmt } from './binfmt.ts';
import { countPackages, isRoot, measure, stopCurrent, type RunResult } from './measure.ts';
import { startProxy, type Proxy } from './proxy.ts';
import { formatReport, writeJson, type CaseResult, type ToolResult } from './report.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const RELEASE = 'bookworm';
const RUN_TIMEOUT_SECONDS = 30 * 60;

const { values: opts } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, cases: { type: 'string', default: 'amd64,arm64' }, help: { type: 'boolean', short: 'h' } },
});
if (opts.help) {
  console.log('usage: npm run bench -- [--runs N] [--cases amd64,arm64]');
  process.exit(0);
}
const runs = Number(opts.runs);
const arches = (opts.cases ?? '').split(',').filter(Boolean);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs: expected a positive whole number, got ${opts.runs}`);
for (const a of arches) if (!['amd64', 'arm64'].includes(a)) fail(`--cases: unknown case ${a} (amd64, arm64)`);

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

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
const mirror = hostMirrorFor('debian');
if (!mirror) fail('no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)');
for (const tool of ['/usr/bin/mmdebstrap', '/usr/sbin/apt-cacher-ng']) if (!existsSync(tool)) fail(`${tool} is missing`);
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
cleanups.push(() => rmSync(work, { recursive: true, force: true }));
const userDir = join(work, 'user');
const logDir = join(work, 'logs');
for (const d of [userDir, logDir, join(userDir, 'kiln-cache'), join(userDir, 'bin')]) mkdirSync(d, { recursive: true, mode: 0o755 });
const kilnBundle = join(userDir, 'bin', 'kiln.mjs');
copyFileSync(join(repo, 'dist/kiln.mjs'), kilnBundle);
chmodSync(kilnBundle, 0o755);
// The bundle's one run-time dependency that cannot be bundled (a prebuilt native module).
cpSync(join(repo, 'node_modules/@napi-rs'), join(userDir, 'bin', 'node_modules/@napi-rs'), { recursive: true });
execFileSync('chmod', ['-R', 'a+rX', join(userDir, 'bin')]);

const baseEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8' };

function logTail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

interface Tool {
  name: 'mmdebstrap' | 'kiln';
  output: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

let proxy: Proxy;

/** Restarts the proxy if something stopped it (same port and cache, so still warm); says so in `notes`. */
async function reviveProxy(notes: string[]): Promise<boolean> {
  if (proxy.alive()) return false;
  const note = `apt-cacher-ng was ${proxy.exitReason()} during the bench; restarted it (same port and cache)`;
  console.log(`bench: ${note}`);
  notes.push(note);
  await proxy.restart();
  return true;
}

/** One run; run again once if it failed because the proxy was killed under it. */
async function runOnce(arch: string, tool: Tool, label: string, notes: string[]): Promise<RunResult> {
  await reviveProxy(notes);
  const first = await runMeasured(arch, tool, label);
  if (first.code === 0 || !(await reviveProxy(notes))) return first;
  return runMeasured(arch, tool, label);
}

async function runMeasured(arch: string, tool: Tool, label: string): Promise<RunResult> {
  rmSync(tool.output, { force: true });
  const logFile = join(logDir, `${arch}-${tool.name}-${label}.log`);
  const result = await measure({
    user,
    argv: tool.argv,
    env: tool.env,
    cwd: tool.cwd,
    logFile,
    timeFile: join(userDir, `time-${tool.name}`),
    timeoutSeconds: RUN_TIMEOUT_SECONDS,
  });
  const status = result.code === 0 ? `${result.wallSeconds.toFixed(1)} s` : `FAILED (exit ${result.code})`;
  console.log(`[${arch}] ${tool.name.padEnd(10)} ${label.padEnd(7)} ${status}`);
  if (result.code !== 0) console.log(logTail(logFile).replace(/^/gm, '    | '));
  return result;
}

function errorOf(arch: string, tool: Tool, label: string, r: RunResult): string {
  const tail = logTail(join(logDir, `${arch}-${tool.name}-${label}.log`), 40).split('\n');
  const line = tail.filter((l) => /error|E:|failed|cannot/i.test(l)).pop() ?? tail.pop() ?? '';
  return `${label} exited ${r.code}: ${line.trim()}`;
}

async function runCase(arch: string, proxyUrl: string): Promise<CaseResult> {
  const result: CaseResult = { name: `${RELEASE} ${arch} minimal`, architecture: arch, notes: [], mmdebstrap: { runs: [] }, kiln: { runs: [] } };
  const kilnDir = join(userDir, `kiln-${arch}`);
  mkdirSync(kilnDir, { recursive: true, mode: 0o755 });
  // The mirror is passed as KILN_DISTRIBUTION_MIRROR so that no mirror host name is written to a file.
  writeFileSync(
    join(kilnDir, 'kiln.toml'),
    [
      '# Written by bench/run.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
      '[distribution]',
      'name = "debian"',
      `release = "${RELEASE}"`,
      `architecture = "${arch}"`,
      '',
      '[packages]',
      'base = "minimal"',
      '',
      '[output]',
      'format = ["tar"]',
      '',
      '[build]',
      `cache-directory = "${join(userDir, 'kiln-cache')}"`,
      '',
    ].join('\n'),
  );
  if (isRoot) execFileSync('chown', ['-R', `${user}:`, userDir]);
  const mm: Tool = {
    name: 'mmdebstrap',
    output: join(userDir, `mmdebstrap-${arch}.tar`),
    argv: ['mmdebstrap', '--mode=unshare', '--variant=minbase', `--architectures=${arch}`, '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr', RELEASE],
    env: baseEnv,
    cwd: userDir,
  };
  mm.argv.push(mm.output, proxyUrl);
  const kiln: Tool = {
    name: 'kiln',
    output: join(kilnDir, 'out', 'image.tar'),
    argv: [process.execPath, kilnBundle, 'build', '-C', kilnDir],
    env: { ...baseEnv, KILN_DISTRIBUTION_MIRROR: proxyUrl },
    cwd: kilnDir,
  };
  const tools: [Tool, ToolResult][] = [
    [mm, result.mmdebstrap],
    [kiln, result.kiln],
  ];

  if (arch !== hostArch) {
    try {
      const binfmt = ensureHostBinfmt(arch);
      cleanups.push(binfmt.undo);
      result.notes.push(binfmt.note);
      console.log(`[${arch}] ${binfmt.note}`);
    } catch (err) {
      result.mmdebstrap.error = `host binfmt: ${(err as Error).message}`;
    }
    result.notes.push('kiln uses its own binfmt_misc in its namespace on Linux >= 6.7 (build.binfmt = auto), not the host registration');
  }

  for (const [tool, r] of tools) {
    if (r.error) continue;
    r.warmup = await runOnce(arch, tool, 'warm-up', result.notes);
    if (r.warmup.code !== 0) r.error = errorOf(arch, tool, 'warm-up', r.warmup);
  }
  for (let i = 1; i <= runs; i++) {
    for (const [tool, r] of tools) {
      if (r.error) continue;
      const run = await runOnce(arch, tool, `run ${i}`, result.notes);
      r.runs.push(run);
      if (run.code !== 0) r.error = errorOf(arch, tool, `run ${i}`, run);
    }
  }
  for (const [tool, r] of tools) {
    if (!existsSync(tool.output)) continue;
    r.packages = await countPackages(tool.output);
    r.outputBytes = statSync(tool.output).size;
  }
  return result;
}

async function main(): Promise<number> {
  proxy = await startProxy(join(work, 'proxy'));
  cleanups.push(() => proxy.stop());
  const proxyUrl = proxy.urlFor(mirror as string);
  console.log(`bench: apt-cacher-ng on 127.0.0.1:${proxy.port} in front of the host's Debian mirror; work dir ${work}; user ${user}`);
  const mmVersion = execFileSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).trim();
  const cases: CaseResult[] = [];
  for (const arch of arches) cases.push(await runCase(arch, proxyUrl));

  console.log(`\n${formatReport(cases, runs)}`);
  const meta = {
    date: new Date().toISOString(),
    host: { kernel: release(), cpus: cpus().length, memoryMB: Math.round(totalmem() / 1e6), arch: hostArch },
    kiln: { version: JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).version, commit: gitHead() },
    mmdebstrap: mmVersion,
    mirror: "the host's Debian mirror (apt sources) through apt-cacher-ng on 127.0.0.1, warm",
    user,
    runsPerTool: runs,
    workspaces: { kiln: 'kiln default (build.workspace = tmpfs)', mmdebstrap: 'mmdebstrap default (TMPDIR unset: /tmp)' },
  };
  const jsonFile = join(repo, 'bench', 'results', 'latest.json');
  const mirrorHost = new URL(mirror as string).host;
  writeJson(jsonFile, meta, cases, (text) => text.split(mirrorHost).join('<host mirror>'));
  console.log(`\nbench: results written to ${jsonFile}`);
  return cases.some((c) => c.mmdebstrap.error || c.kiln.error) ? 1 : 0;
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
