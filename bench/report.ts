/**
 * The bench's results: the printed table, the targets, and the JSON file.
 * Each comparison (kiln against mmdebstrap, kiln against pacman) is described
 * by a `Comparison`; its cases hold the other tool's figures as `baseline`,
 * which the JSON names after the tool (`mmdebstrap`, `mmdebstrapMedianSeconds`).
 * A case may measure the other tool a second way, with its work directory on
 * a tmpfs (`baselineTmpfs`, mmdebstrap with TMPDIR on /dev/shm); the ratio
 * that counts is then against the faster of the two.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { median, type RunResult, type TarPackages } from './measure.ts';

export interface ToolResult {
  /** The untimed warm-up run (caches filled). */
  warmup?: RunResult;
  runs: RunResult[];
  /** How many packages the output holds, and how many of them are whole (dpkg "ii", or pacman -Qk clean). */
  packages?: TarPackages;
  outputBytes?: number;
  /** Why this tool has no (or fewer) figures. */
  error?: string;
}

export interface CaseResult {
  name: string;
  architecture: string;
  notes: string[];
  /** The tool kiln is measured against (its work directory on disk, when there is also `baselineTmpfs`). */
  baseline: ToolResult;
  /** The same tool with its work directory on a tmpfs, measured in the same alternating runs. */
  baselineTmpfs?: ToolResult;
  kiln: ToolResult;
  /** A foreign-architecture case: kiln again with build.emulation = "full" (everything under QEMU), same alternation. */
  kilnFull?: ToolResult;
  /** The target's architecture is not the host's. */
  foreign?: boolean;
  /** A set other than the comparison's plain one (e.g. bootable): a foreign case is held against the host case of the same variant. */
  variant?: string;
}

/** The measured tools of a case, each with its label in the report. */
export function toolsOf(comparison: Comparison, c: CaseResult): [string, ToolResult][] {
  return [[comparison.baseline, c.baseline], ...(c.baselineTmpfs ? [[`${comparison.baseline} tmpfs`, c.baselineTmpfs] as [string, ToolResult]] : []), ['kiln', c.kiln], ...(c.kilnFull ? [['kiln full emulation', c.kilnFull] as [string, ToolResult]] : [])];
}

export interface Comparison {
  /** The other tool: heads its columns and names its JSON keys. */
  baseline: 'mmdebstrap' | 'pacman';
  /** Its name in narrow column heads. */
  short: string;
  /** kiln/baseline median wall-clock ratio at most this, per architecture. */
  ratioTargets: Record<string, number>;
  /** kiln's foreign-architecture median over its host-architecture one at most this (kiln arm64 / kiln amd64). */
  foreignOverNativeTarget?: number;
  /** kiln's peak memory (process tree PSS + private tmpfs, in one sample) at most this many MB. */
  memoryTargetMB?: number;
  /** What "whole" means in the package column, e.g. "ii". */
  wholeLabel: string;
  /** Printed above the table: what each side runs. */
  description: string[];
}

const mb = (kib: number | undefined) => (kib === undefined ? undefined : (kib * 1024) / 1e6);
const fmt = (n: number | undefined, digits = 1, unit = '') => (n === undefined ? '-' : `${n.toFixed(digits)}${unit}`);
const ok = (pass: boolean | undefined) => (pass === undefined ? '?' : pass ? 'PASS' : 'FAIL');

export interface Summary {
  name: string;
  baselineMedianSeconds?: number;
  /** With a tmpfs variant: its median. */
  baselineTmpfsMedianSeconds?: number;
  kilnMedianSeconds?: number;
  /** A foreign case: kiln's median with build.emulation = "full", and that over kiln's (native twins) median. */
  kilnFullMedianSeconds?: number;
  fullOverTwins?: number;
  /** A foreign case: kiln's median over kiln's median for the host's architecture (same run). */
  kilnOverNative?: number;
  kilnOverNativeTarget?: number;
  kilnOverNativePass?: boolean;
  /** kiln's median over the faster baseline median (the only one when there is no tmpfs variant). */
  ratio?: number;
  /** With a tmpfs variant: which baseline `ratio` is against, and the ratio against each. */
  ratioAgainst?: 'disk' | 'tmpfs';
  ratioDisk?: number;
  ratioTmpfs?: number;
  ratioTarget?: number;
  ratioPass?: boolean;
  kilnTreePeakMB?: number;
  kilnTreePssPeakMB?: number;
  kilnTmpfsPeakMB?: number;
  kilnPeakMB?: number;
  kilnTopMaxRssMB?: number;
  baselineTopMaxRssMB?: number;
  baselineTreePeakMB?: number;
  baselineTmpfsTopMaxRssMB?: number;
  memoryPass?: boolean;
  packages: { baseline?: TarPackages; kiln?: TarPackages };
  /** Median seconds per step of kiln's own log, and per phase of the baseline's when it reports them. */
  steps?: { kiln?: Record<string, number>; baseline?: Record<string, number> };
}

const good = (r: RunResult) => r.code === 0 && !r.problem;
const maxOf = (values: (number | undefined)[]) => {
  const v = values.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
};

/** Median of each named step over the runs that report it. */
function medianSteps(runs: RunResult[]): Record<string, number> | undefined {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.steps ?? {})))];
  if (names.length === 0) return undefined;
  return Object.fromEntries(names.map((n) => [n, median(runs.flatMap((r) => (r.steps?.[n] === undefined ? [] : [r.steps[n] as number]))) as number]));
}

export function summarize(comparison: Comparison, c: CaseResult): Summary {
  const base = c.baseline.runs.filter(good);
  const k = c.kiln.runs.filter(good);
  const tmpfs = c.baselineTmpfs?.runs.filter(good);
  const baseMedian = median(base.map((r) => r.wallSeconds));
  const tmpfsMedian = tmpfs && median(tmpfs.map((r) => r.wallSeconds));
  const kMedian = median(k.map((r) => r.wallSeconds));
  const fullMedian = c.kilnFull && median(c.kilnFull.runs.filter(good).map((r) => r.wallSeconds));
  const over = (m: number | undefined) => (m !== undefined && kMedian !== undefined ? kMedian / m : undefined);
  // Against the faster of the two; a variant without figures does not count as faster.
  const against = tmpfs === undefined || (tmpfsMedian === undefined && baseMedian === undefined) ? undefined : tmpfsMedian !== undefined && (baseMedian === undefined || tmpfsMedian < baseMedian) ? 'tmpfs' : 'disk';
  const ratio = over(against === 'tmpfs' ? tmpfsMedian : baseMedian);
  const target = comparison.ratioTargets[c.architecture];
  const peak = mb(maxOf(k.map((r) => r.totalPeakKiB)));
  const memoryTarget = comparison.memoryTargetMB;
  const kilnSteps = medianSteps(k);
  const baseSteps = medianSteps(base);
  return {
    name: c.name,
    baselineMedianSeconds: baseMedian,
    ...(tmpfs ? { baselineTmpfsMedianSeconds: tmpfsMedian } : {}),
    kilnMedianSeconds: kMedian,
    ...(c.kilnFull ? { kilnFullMedianSeconds: fullMedian, fullOverTwins: fullMedian !== undefined && kMedian ? fullMedian / kMedian : undefined } : {}),
    ratio,
    ...(against ? { ratioAgainst: against, ratioDisk: over(baseMedian), ratioTmpfs: over(tmpfsMedian) } : {}),
    ratioTarget: target,
    ratioPass: ratio === undefined || target === undefined ? undefined : ratio <= target,
    kilnTreePeakMB: mb(maxOf(k.map((r) => r.treePeakRssKiB))),
    kilnTreePssPeakMB: mb(maxOf(k.map((r) => r.treePeakPssKiB))),
    kilnTmpfsPeakMB: mb(maxOf(k.map((r) => r.tmpfsPeakKiB))),
    kilnPeakMB: peak,
    kilnTopMaxRssMB: mb(maxOf(k.map((r) => r.topMaxRssKiB))),
    baselineTopMaxRssMB: mb(maxOf(base.map((r) => r.topMaxRssKiB))),
    baselineTreePeakMB: mb(maxOf(base.map((r) => r.treePeakRssKiB))),
    ...(tmpfs ? { baselineTmpfsTopMaxRssMB: mb(maxOf(tmpfs.map((r) => r.topMaxRssKiB))) } : {}),
    memoryPass: peak === undefined || memoryTarget === undefined ? undefined : peak <= memoryTarget,
    packages: { baseline: c.baseline.packages, kiln: c.kiln.packages },
    ...(kilnSteps || baseSteps ? { steps: { kiln: kilnSteps, baseline: baseSteps } } : {}),
  };
}

/**
 * Every case's summary, and for each foreign case kiln's median over the
 * host-architecture case's kiln median (the first case that is not foreign).
 */
export function summarizeAll(comparison: Comparison, cases: CaseResult[]): Summary[] {
  const sums = cases.map((c) => summarize(comparison, c));
  const target = comparison.foreignOverNativeTarget;
  return sums.map((s, i) => {
    const native = sums[cases.findIndex((c) => !c.foreign && c.variant === cases[i]?.variant)];
    if (!cases[i]?.foreign || !native) return s;
    const r = s.kilnMedianSeconds !== undefined && native.kilnMedianSeconds ? s.kilnMedianSeconds / native.kilnMedianSeconds : undefined;
    return { ...s, kilnOverNative: r, kilnOverNativeTarget: target, kilnOverNativePass: r === undefined || target === undefined ? undefined : r <= target };
  });
}

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

const MEMORY_NOTES = [
  'Memory (MB = 10^6 bytes), sampled every 100 ms from /proc over kiln\'s whole process tree:',
  '  "tree RSS" = peak of the summed RSS (pages shared between processes counted in each: errs high);',
  '  "tree PSS" = peak of the summed PSS (shared pages split among their users);',
  '  "tmpfs" = peak used space of tmpfs mounts private to kiln\'s mount namespaces (its workspace:',
  '  memory, but in no process\'s RSS);',
  '  "peak mem" = peak of tree PSS + tmpfs in one sample (tmpfs pages mapped by processes counted once),',
  '  the figure held to the target.',
  '  "top RSS" = /usr/bin/time -f %M around the tool: the largest single process (the tool, or a',
  '  descendant it waited for), not a sum.',
];

const stepLine = (steps: Record<string, number>) =>
  Object.entries(steps)
    .map(([name, s]) => `${name} ${s.toFixed(s < 10 ? 2 : 1)}`)
    .join(', ');

export function formatReport(comparison: Comparison, cases: CaseResult[], runsWanted: number): string {
  const { baseline, short } = comparison;
  const sums = summarizeAll(comparison, cases);
  const nativeName = cases.find((c) => !c.foreign)?.architecture;
  const pkgs = (p: TarPackages | undefined) => (p ? `${p.packages} (${p.installed} ${comparison.wholeLabel})` : '-');
  const seconds = (n: number | undefined) => fmt(n, n !== undefined && n < 10 ? 2 : 1, ' s');
  const twoWays = cases.some((c) => c.baselineTmpfs);
  const rows = [
    [
      'case', ...(twoWays ? [`${baseline} disk`, `${baseline} tmpfs`] : [baseline]), 'kiln', twoWays ? `kiln/${short} (faster)` : `kiln/${short}`,
      ...(twoWays ? [`kiln/${short} disk`, `kiln/${short} tmpfs`] : []),
      'target', 'kiln peak mem', 'kiln tree RSS', 'kiln tree PSS', 'kiln tmpfs', 'kiln top RSS', `${short} top RSS`, `pkgs ${short}`, 'pkgs kiln',
    ],
    ...sums.map((s) => [
      s.name,
      seconds(s.baselineMedianSeconds),
      ...(twoWays ? [seconds(s.baselineTmpfsMedianSeconds)] : []),
      seconds(s.kilnMedianSeconds),
      `${fmt(s.ratio, 2)}${s.ratioAgainst ? ` (${s.ratioAgainst})` : ''}`,
      ...(twoWays ? [fmt(s.ratioDisk, 2), fmt(s.ratioTmpfs, 2)] : []),
      s.ratioTarget === undefined ? '-' : `<= ${s.ratioTarget} ${ok(s.ratioPass)}`,
      s.kilnPeakMB === undefined ? '-' : `${fmt(s.kilnPeakMB, 0, ' MB')}${s.memoryPass === undefined ? '' : ` ${ok(s.memoryPass)}`}`,
      fmt(s.kilnTreePeakMB, 0, ' MB'),
      fmt(s.kilnTreePssPeakMB, 0, ' MB'),
      fmt(s.kilnTmpfsPeakMB, 0, ' MB'),
      fmt(s.kilnTopMaxRssMB, 0, ' MB'),
      fmt(s.baselineTopMaxRssMB, 0, ' MB'),
      pkgs(s.packages.baseline),
      pkgs(s.packages.kiln),
    ]),
  ];
  const lines = [
    `== kiln vs ${baseline} ==`,
    ...comparison.description,
    `Medians of ${runsWanted} alternating warm runs each (wall clock); failed runs are left out of the medians.`,
    ...(twoWays
      ? [
          `${baseline} runs two ways in the same alternation (disk, tmpfs). kiln's default workspace is a tmpfs, so the ratio`,
          `that counts (and is held to the target) is kiln against the faster of the two; the ratios against each follow it.`,
          `"${short} top RSS" is the disk run's.`,
        ]
      : []),
    '',
    table(rows),
    '',
    ...MEMORY_NOTES,
    '',
  ];
  const timed = sums.filter((s) => s.steps);
  if (timed.length) {
    lines.push('Where the time goes (medians, seconds; kiln\'s steps as its log prints them, to 0.1 s):');
    for (const s of timed) {
      if (s.steps?.kiln) lines.push(`  ${s.name}, kiln: ${stepLine(s.steps.kiln)}`);
      if (s.steps?.baseline) lines.push(`  ${s.name}, ${baseline}: ${stepLine(s.steps.baseline)}`);
    }
    lines.push('');
  }
  const foreign = sums.filter((s) => s.kilnOverNative !== undefined || s.kilnFullMedianSeconds !== undefined);
  if (foreign.length) {
    lines.push(`Foreign architecture (kiln against kiln ${nativeName ?? 'host'}, same run; "full" = build.emulation = "full", everything under QEMU):`);
    for (const s of foreign) {
      lines.push(
        `  ${s.name}: kiln ${seconds(s.kilnMedianSeconds)} (native twins), ${seconds(s.kilnFullMedianSeconds)} (full emulation, ${fmt(s.fullOverTwins, 2)}x); ` +
          `over kiln ${nativeName ?? 'host'} ${fmt(s.kilnOverNative, 2)}`,
      );
    }
    lines.push('');
  }
  lines.push('Targets:');
  for (const s of sums) {
    const against = s.ratioAgainst ? ` (against ${baseline} ${s.ratioAgainst}, the faster)` : '';
    if (s.ratioTarget !== undefined) lines.push(`  ${ok(s.ratioPass)}  ${s.name}: kiln/${baseline} ${fmt(s.ratio, 2)}${against} <= ${s.ratioTarget}`);
    if (s.kilnOverNativeTarget !== undefined) lines.push(`  ${ok(s.kilnOverNativePass)}  ${s.name}: kiln/kiln ${nativeName} ${fmt(s.kilnOverNative, 2)} <= ${s.kilnOverNativeTarget}`);
    if (comparison.memoryTargetMB !== undefined) lines.push(`  ${ok(s.memoryPass)}  ${s.name}: kiln peak memory ${fmt(s.kilnPeakMB, 0, ' MB')} <= ${comparison.memoryTargetMB} MB`);
  }
  if (comparison.memoryTargetMB === undefined) lines.push(`  (no memory target for this comparison: kiln's peak memory is reported only)`);
  for (const c of cases) {
    for (const note of c.notes) lines.push(`note (${c.name}): ${note}`);
    for (const [tool, r] of toolsOf(comparison, c)) {
      if (r.error) lines.push(`error (${c.name}, ${tool}): ${r.error}`);
      const walls = r.runs.map((x) => (x.problem ? 'bad tree' : x.code === 0 ? x.wallSeconds.toFixed(2) : `exit ${x.code}`)).join(', ');
      if (walls) lines.push(`runs (${c.name}, ${tool}): ${walls}`);
    }
  }
  return lines.join('\n');
}

/** `baseline` in keys becomes the tool's name: baselineMedianSeconds -> mmdebstrapMedianSeconds. */
function nameBaseline(value: unknown, name: string): unknown {
  if (Array.isArray(value)) return value.map((v) => nameBaseline(v, name));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/^baseline(?=[A-Z]|$)/, name), nameBaseline(v, name)]));
}

/** One comparison's part of latest.json. */
export function resultsSection(comparison: Comparison, meta: Record<string, unknown>, cases: CaseResult[]): Record<string, unknown> {
  const targets = {
    ratio: comparison.ratioTargets,
    ...(comparison.foreignOverNativeTarget === undefined ? {} : { foreignOverNative: comparison.foreignOverNativeTarget }),
    ...(comparison.memoryTargetMB === undefined ? {} : { memoryMB: comparison.memoryTargetMB }),
  };
  return nameBaseline({ ...meta, targets, summary: summarizeAll(comparison, cases), cases }, comparison.baseline) as Record<string, unknown>;
}

/** The comparisons whose results sit under their own key in latest.json, kept when another runs. */
const NESTED_SECTIONS = ['pacman', 'disk', 'diff', 'apk', 'boot'];

/**
 * Writes the comparisons that ran into `file`, keeping the others' results
 * from the file as it was: the mmdebstrap comparison fills the top level (its
 * layout from before there were two), the pacman comparison the key `pacman`, the disk comparison `disk`, the apk one `apk`.
 * `redact` keeps the mirror's host name (in error messages) out of the file.
 */
export function writeResults(file: string, ran: Partial<Record<string, Record<string, unknown>>>, redact: (text: string) => string = (t) => t): void {
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    /* no file yet, or not ours to keep */
  }
  // mmdebstrap's results are the file's top level; every other comparison's are under its own key.
  const nested = new Set([...Object.keys(ran), ...NESTED_SECTIONS].filter((k) => k !== 'mmdebstrap'));
  const previousDebian = Object.fromEntries(Object.entries(previous).filter(([k]) => !nested.has(k)));
  const body: Record<string, unknown> = { ...(ran.mmdebstrap ?? previousDebian) };
  for (const key of nested) {
    const section = ran[key] ?? previous[key];
    if (section) body[key] = section;
  }
  const round = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, redact(JSON.stringify(body, round, 2)) + '\n');
  renameSync(tmp, file);
}
