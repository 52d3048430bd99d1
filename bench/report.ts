/** The bench's results: the printed table, the targets, and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { median, type RunResult, type TarPackages } from './measure.ts';

export interface ToolResult {
  /** The untimed warm-up run (proxy and kiln's download cache filled). */
  warmup?: RunResult;
  runs: RunResult[];
  packages?: TarPackages;
  outputBytes?: number;
  /** Why this tool has no (or fewer) figures. */
  error?: string;
}

export interface CaseResult {
  name: string;
  architecture: string;
  notes: string[];
  mmdebstrap: ToolResult;
  kiln: ToolResult;
}

/** kiln/mmdebstrap median wall-clock ratio at most this, per case. */
export const RATIO_TARGETS: Record<string, number> = { amd64: 0.5, arm64: 0.3 };
/** kiln's peak memory (process tree PSS + private tmpfs, in one sample) at most this many MB. */
export const MEMORY_TARGET_MB = 400;

const mb = (kib: number | undefined) => (kib === undefined ? undefined : (kib * 1024) / 1e6);
const fmt = (n: number | undefined, digits = 1, unit = '') => (n === undefined ? '-' : `${n.toFixed(digits)}${unit}`);
const ok = (pass: boolean | undefined) => (pass === undefined ? '?' : pass ? 'PASS' : 'FAIL');

export interface Summary {
  name: string;
  mmdebstrapMedianSeconds?: number;
  kilnMedianSeconds?: number;
  ratio?: number;
  ratioTarget?: number;
  ratioPass?: boolean;
  kilnTreePeakMB?: number;
  kilnTreePssPeakMB?: number;
  kilnTmpfsPeakMB?: number;
  kilnPeakMB?: number;
  kilnTopMaxRssMB?: number;
  mmdebstrapTopMaxRssMB?: number;
  mmdebstrapTreePeakMB?: number;
  memoryPass?: boolean;
  packages: { mmdebstrap?: TarPackages; kiln?: TarPackages };
}

const ok0 = (r: RunResult) => r.code === 0;
const maxOf = (values: (number | undefined)[]) => {
  const v = values.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
};

export function summarize(c: CaseResult): Summary {
  const mm = c.mmdebstrap.runs.filter(ok0);
  const k = c.kiln.runs.filter(ok0);
  const mmMedian = median(mm.map((r) => r.wallSeconds));
  const kMedian = median(k.map((r) => r.wallSeconds));
  const ratio = mmMedian !== undefined && kMedian !== undefined ? kMedian / mmMedian : undefined;
  const target = RATIO_TARGETS[c.architecture];
  const tree = mb(maxOf(k.map((r) => r.treePeakRssKiB)));
  const peak = mb(maxOf(k.map((r) => r.totalPeakKiB)));
  return {
    name: c.name,
    mmdebstrapMedianSeconds: mmMedian,
    kilnMedianSeconds: kMedian,
    ratio,
    ratioTarget: target,
    ratioPass: ratio === undefined || target === undefined ? undefined : ratio <= target,
    kilnTreePeakMB: tree,
    kilnTreePssPeakMB: mb(maxOf(k.map((r) => r.treePeakPssKiB))),
    kilnTmpfsPeakMB: mb(maxOf(k.map((r) => r.tmpfsPeakKiB))),
    kilnPeakMB: peak,
    kilnTopMaxRssMB: mb(maxOf(k.map((r) => r.topMaxRssKiB))),
    mmdebstrapTopMaxRssMB: mb(maxOf(mm.map((r) => r.topMaxRssKiB))),
    mmdebstrapTreePeakMB: mb(maxOf(mm.map((r) => r.treePeakRssKiB))),
    memoryPass: peak === undefined ? undefined : peak <= MEMORY_TARGET_MB,
    packages: { mmdebstrap: c.mmdebstrap.packages, kiln: c.kiln.packages },
  };
}

function table(rows: string[][]): string {
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n');
}

const pkgs = (p: TarPackages | undefined) => (p ? `${p.packages} (${p.installed} ii)` : '-');

export function formatReport(cases: CaseResult[], runsWanted: number): string {
  const sums = cases.map(summarize);
  const rows = [
    ['case', 'mmdebstrap', 'kiln', 'kiln/mm', 'target', 'kiln peak mem', 'kiln tree RSS', 'kiln tree PSS', 'kiln tmpfs', 'kiln top RSS', 'mm top RSS', 'pkgs mm', 'pkgs kiln'],
    ...sums.map((s) => [
      s.name,
      fmt(s.mmdebstrapMedianSeconds, 1, ' s'),
      fmt(s.kilnMedianSeconds, 1, ' s'),
      fmt(s.ratio, 2),
      s.ratioTarget === undefined ? '-' : `<= ${s.ratioTarget} ${ok(s.ratioPass)}`,
      s.kilnPeakMB === undefined ? '-' : `${fmt(s.kilnPeakMB, 0, ' MB')} ${ok(s.memoryPass)}`,
      fmt(s.kilnTreePeakMB, 0, ' MB'),
      fmt(s.kilnTreePssPeakMB, 0, ' MB'),
      fmt(s.kilnTmpfsPeakMB, 0, ' MB'),
      fmt(s.kilnTopMaxRssMB, 0, ' MB'),
      fmt(s.mmdebstrapTopMaxRssMB, 0, ' MB'),
      pkgs(s.packages.mmdebstrap),
      pkgs(s.packages.kiln),
    ]),
  ];
  const lines = [
    `Medians of ${runsWanted} alternating warm runs each (wall clock); failed runs are left out of the medians.`,
    '',
    table(rows),
    '',
    'Memory (MB = 10^6 bytes), sampled every 100 ms from /proc over kiln\'s whole process tree:',
    '  "tree RSS" = peak of the summed RSS (pages shared between processes counted in each: errs high);',
    '  "tree PSS" = peak of the summed PSS (shared pages split among their users);',
    '  "tmpfs" = peak used space of tmpfs mounts private to kiln\'s mount namespaces (its workspace:',
    '  memory, but in no process\'s RSS);',
    '  "peak mem" = peak of tree PSS + tmpfs in one sample (tmpfs pages mapped by processes counted once),',
    '  the figure held to the target.',
    '  "top RSS" = /usr/bin/time -f %M around the tool: the largest single process (the tool, or a',
    '  descendant it waited for), not a sum.',
    '',
    'Targets:',
  ];
  for (const s of sums) {
    if (s.ratioTarget !== undefined) lines.push(`  ${ok(s.ratioPass)}  ${s.name}: kiln/mmdebstrap ${fmt(s.ratio, 2)} <= ${s.ratioTarget}`);
    lines.push(`  ${ok(s.memoryPass)}  ${s.name}: kiln peak memory ${fmt(s.kilnPeakMB, 0, ' MB')} <= ${MEMORY_TARGET_MB} MB`);
  }
  for (const c of cases) {
    for (const note of c.notes) lines.push(`note (${c.name}): ${note}`);
    for (const [tool, r] of [['mmdebstrap', c.mmdebstrap], ['kiln', c.kiln]] as const) {
      if (r.error) lines.push(`error (${c.name}, ${tool}): ${r.error}`);
      const walls = r.runs.map((x) => (x.code === 0 ? x.wallSeconds.toFixed(1) : `exit ${x.code}`)).join(', ');
      if (walls) lines.push(`runs (${c.name}, ${tool}): ${walls}`);
    }
  }
  return lines.join('\n');
}

/** Writes the results; `redact` keeps the mirror's host name (in error messages) out of the file. */
export function writeJson(file: string, meta: Record<string, unknown>, cases: CaseResult[], redact: (text: string) => string): void {
  mkdirSync(dirname(file), { recursive: true });
  const round = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
  const body = { ...meta, targets: { ratio: RATIO_TARGETS, memoryMB: MEMORY_TARGET_MB }, summary: cases.map(summarize), cases };
  writeFileSync(file, redact(JSON.stringify(body, round, 2)) + '\n');
}
