/**
 * What the comparisons share: the user the builds run as, the work area and
 * kiln's bundle (`Bench`), one measured run of a tool, and the order of runs
 * in a case: an untimed warm-up of each tool, then the timed runs
 * alternating between the tools, so that all see the same machine state.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { isRoot, measure, type RunResult } from './measure.ts';
import type { CaseResult, Comparison, ToolResult } from './report.ts';

export interface Bench {
  /** The bench's own work area (the user's is below it); removed at the end. */
  workDir: string;
  /** The unprivileged user every build runs as. */
  user: string;
  /** A directory the user owns, for configurations, caches and outputs. */
  userDir: string;
  logDir: string;
  /** kiln's bundle, runnable by the user. */
  kilnBundle: string;
  /** kiln's build.cache-directory, shared by all cases (warm after the warm-ups). */
  kilnCache: string;
  baseEnv: Record<string, string>;
  /** Timed runs per tool and case. */
  runs: number;
  /** The host's Debian architecture. */
  hostArch: string;
  /** The foreign bootable case also runs fully emulated (--full-bootable: about 12 minutes a run here). */
  fullBootable: boolean;
  /** Registers something to undo at the end (last in, first out), also after a failure or Ctrl-C. */
  defer(undo: () => void | Promise<void>): void;
}

export interface Tool {
  name: string;
  /** Removed before each run. */
  output: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Seconds per step, read from the run's log. */
  steps?(log: string): Record<string, number>;
}

/** What a comparison hands back to be printed and written. */
export interface ComparisonRun {
  comparison: Comparison;
  cases: CaseResult[];
  /** Its part of latest.json besides the figures: tool versions, what was measured. */
  meta: Record<string, unknown>;
  /** Applied to the JSON text (keeps a mirror's host name out of the file). */
  redact?: (text: string) => string;
}

export interface Entry {
  tool: Tool;
  result: ToolResult;
}

const RUN_TIMEOUT_SECONDS = 30 * 60;

export function logFile(bench: Bench, caseId: string, tool: Tool, label: string): string {
  return join(bench.logDir, `${caseId}-${tool.name}-${label.replace(/ /g, '-')}.log`);
}

export function logTail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs `argv` as the bench user (through runuser when the bench is root), untimed. */
export function asUser(bench: Bench, argv: string[], opts: { input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  const [command, ...args] = isRoot ? ['runuser', '-u', bench.user, '--', ...argv] : argv;
  return spawnSync(command as string, args, { encoding: 'utf8', env: bench.baseEnv, cwd: opts.cwd ?? bench.userDir, input: opts.input });
}

/**
 * Removes a build's output. A tree made in a user namespace can hold files of
 * the user's subordinate ids, which only root (or the user's namespace) may remove.
 */
/** The host's shared-memory tmpfs, where the bench keeps what should not measure the disk. */
export const SHM = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;

/** A directory of the bench's own on the tmpfs at SHM, owned by the user (world-searchable), removed at the end. */
export function shmDirectory(bench: Bench, label: string, purpose: string): string {
  if (!existsSync(SHM) || statfsSync(SHM).type !== TMPFS_MAGIC) throw new Error(`${SHM} is not a tmpfs here: ${purpose}`);
  const dir = mkdtempSync(join(SHM, `kiln-bench-${label}-`));
  bench.defer(() => removeOutput(bench, dir));
  chmodSync(dir, 0o755); // as /tmp: the chroot's own users (apt's _apt) must get through
  if (isRoot) execFileSync('chown', [`${bench.user}:`, dir]);
  return dir;
}

export function removeOutput(bench: Bench, path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (err) {
    if (isRoot) throw err;
    const r = spawnSync('unshare', ['--map-auto', '--map-root-user', 'rm', '-rf', '--', path], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot remove ${path}: ${r.stderr.trim() || (err as Error).message}`, { cause: err });
  }
}

/**
 * kiln's steps as its plain reporter prints them ("unpack        0.3 s  9 packages"),
 * summed by name, and the time between them ("done in" less the steps).
 */
export function kilnSteps(log: string): Record<string, number> {
  const steps: Record<string, number> = {};
  for (const m of log.matchAll(/^([a-z][\w-]*) +(\d+\.\d) s(?: |$)/gm)) steps[m[1] as string] = (steps[m[1] as string] ?? 0) + Number(m[2]);
  const done = /^done in (\d+\.\d) s/m.exec(log);
  if (done) steps['between steps'] = Math.max(0, Number(done[1]) - Object.values(steps).reduce((a, b) => a + b, 0));
  return steps;
}

/** One timed run of `tool` as the bench user; prints a line, and the log's tail when it failed. */
export async function measureRun(bench: Bench, caseId: string, tool: Tool, label: string): Promise<RunResult> {
  removeOutput(bench, tool.output);
  const log = logFile(bench, caseId, tool, label);
  const result = await measure({
    user: bench.user,
    argv: tool.argv,
    env: tool.env,
    cwd: tool.cwd,
    logFile: log,
    timeFile: join(bench.userDir, `time-${tool.name}`),
    timeoutSeconds: RUN_TIMEOUT_SECONDS,
  });
  const status = result.code === 0 ? `${result.wallSeconds.toFixed(2)} s` : `FAILED (exit ${result.code})`;
  console.log(`[${caseId}] ${tool.name.padEnd(10)} ${label.padEnd(7)} ${status}`);
  if (result.code !== 0) console.log(logTail(log).replace(/^/gm, '    | '));
  if (result.code === 0 && tool.steps) {
    const steps = tool.steps(readFileSync(log, 'utf8'));
    const accounted = Object.values(steps).reduce((a, b) => a + b, 0);
    // Process start and exit, and whatever the log does not time.
    result.steps = { ...steps, other: Math.max(0, result.wallSeconds - accounted) };
  }
  return result;
}

function errorOf(bench: Bench, caseId: string, tool: Tool, label: string, r: RunResult): string {
  if (r.problem) return `${label}: ${r.problem}`;
  const tail = logTail(logFile(bench, caseId, tool, label), 40).split('\n');
  const line = tail.filter((l) => /error|E:|failed|cannot/i.test(l)).pop() ?? tail.pop() ?? '';
  return `${label} exited ${r.code}: ${line.trim()}`;
}

/**
 * Warm-up of each tool, then `bench.runs` rounds of one run each, in the
 * order given. A tool that fails (or whose output fails its check: `problem`)
 * is not run again in this case.
 */
export async function alternate(bench: Bench, caseId: string, entries: Entry[], run: (tool: Tool, label: string) => Promise<RunResult>): Promise<void> {
  const once = async ({ tool, result }: Entry, label: string): Promise<RunResult> => {
    const r = await run(tool, label);
    if (r.code !== 0 || r.problem) result.error = errorOf(bench, caseId, tool, label, r);
    if (r.problem) console.log(`[${caseId}] ${tool.name} ${label}: BAD OUTPUT: ${r.problem}`);
    return r;
  };
  for (const entry of entries) {
    if (!entry.result.error) entry.result.warmup = await once(entry, 'warm-up');
  }
  for (let i = 1; i <= bench.runs; i++) {
    for (const entry of entries) {
      if (!entry.result.error) entry.result.runs.push(await once(entry, `run ${i}`));
    }
  }
}
