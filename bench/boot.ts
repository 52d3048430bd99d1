/**
 * From `kiln build` to `login:` (case boot-amd64: examples/debian-uefi;
 * boot-arm64: examples/debian-arm64-uefi, or the same image for the
 * aarch64-uefi board written here when the example is not there): Debian
 * bookworm from the host's mirror through the bench's apt-cacher-ng, built
 * with `kiln build --rebuild` (every stage run again, downloads cached),
 * then booted with `kiln boot --expect login:` (KVM where kiln finds it
 * usable for the unprivileged user, else TCG: the boot's own line says
 * which, and why). Beside it, the same configuration with a tar output, so
 * the rows show what the disk and the bootloader cost over the tree.
 *
 * Each row is measured (bench/measure.ts, as the unprivileged user); an
 * untimed warm-up build of each fills kiln's download cache first, then
 * the timed rounds alternate: disk build, its boot, tar build. A run that
 * fails is named in the row, and its tool is not run again in that case.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firmwareFiles } from '../src/boot/qemu.ts';
import { findBoard } from '../src/catalog/index.ts';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { findOnPath } from '../src/util/path.ts';
import type { DiskBenchResult } from './disk.ts';
import { median, type RunResult } from './measure.ts';
import { startProxy } from './proxy.ts';
import { kilnSteps, logFile, measureRun, type Bench, type Tool } from './runs.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));

interface BootCase {
  board: string;
  /** The example whose kiln.toml is built, below examples/. */
  example: string;
  /** Its configuration when the example is not in this checkout. */
  fallback: string;
}

export const BOOT_CASES: Record<string, BootCase> = {
  'boot-amd64': { board: 'x86_64-uefi', example: 'debian-uefi', fallback: imageToml('amd64', 'x86_64-uefi', 'ttyS0') },
  'boot-arm64': { board: 'aarch64-uefi', example: 'debian-arm64-uefi', fallback: imageToml('arm64', 'aarch64-uefi', 'ttyAMA0') },
};

/** How long one boot may take to reach login: (TCG, a loaded machine). */
const BOOT_TIMEOUT_SECONDS = 1800;

function imageToml(arch: string, board: string, console: string): string {
  return [
    '[distribution]', 'name = "debian"', 'release = "bookworm"', `architecture = "${arch}"`, '',
    '[board]', `name = "${board}"`, '',
    '[packages]', 'base = "minimal"', '',
    '[system]', 'root-password = "kiln"', '',
    '[boot]', `cmdline = "rw console=${console},115200 quiet"`, '',
    '[output]', 'format = ["disk"]', '',
  ].join('\n');
}

/** Why the cases cannot run here, or undefined. */
export function bootPreflight(cases: string[]): string | undefined {
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)';
  for (const name of cases) {
    const q = findBoard(BOOT_CASES[name]!.board)!.qemu!;
    if (!findOnPath(`qemu-system-${q.emulator}`)) return `${name}: qemu-system-${q.emulator} is missing (apt-get install ${q.emulatorPackage})`;
    const missing = firmwareFiles(q).filter((f) => !existsSync(f.file));
    if (missing.length) return `${name}: ${missing.map((f) => f.file).join(', ')} missing (apt-get install ${[...new Set(missing.map((f) => f.package))].join(' ')})`;
  }
  return undefined;
}

/** The example's kiln.toml (or the fallback), with the bench's cache and the output format `format`. */
function projectToml(bench: Bench, c: BootCase, format: 'disk' | 'tar'): { toml: string; source: string } {
  const example = join(repo, 'examples', c.example, 'kiln.toml');
  const found = existsSync(example);
  const text = found ? readFileSync(example, 'utf8') : c.fallback;
  const formatLine = /^format\s*=.*$/m;
  if (!formatLine.test(text)) throw new Error(`${found ? example : c.example}: no output format line to change`);
  const cache = `cache-directory = "${bench.kilnCache}"`;
  const changed = text.replace(formatLine, `format = ["${format}"]`).trimEnd();
  const toml = [
    '# Written by bench/boot.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
    /^\[build\]\s*$/m.test(changed) ? changed.replace(/^\[build\]\s*$/m, `[build]\n${cache}`) : `${changed}\n\n[build]\n${cache}`,
    '',
  ].join('\n');
  return { toml, source: found ? `examples/${c.example}` : `examples/${c.example} is not in this checkout: the same image written by bench/boot.ts` };
}

interface Row {
  name: string;
  runs: RunResult[];
  error?: string;
}

const good = (r: RunResult) => r.code === 0 && !r.problem;

/** "KVM" or "TCG: why", from a boot's log ("kiln: booting DISK with ..."). */
function acceleratorOf(log: string): string | undefined {
  const m = /^kiln: booting \S+ with (KVM|software emulation \(TCG, slow\): (.*))$/m.exec(log);
  return m ? (m[1] === 'KVM' ? 'KVM' : `TCG (${m[2]})`) : undefined;
}

async function runCase(bench: Bench, name: string, c: BootCase, env: Record<string, string>): Promise<{ lines: string[]; section: { errors: Record<string, string> } & Record<string, unknown> }> {
  const dirs = { disk: join(bench.userDir, `${name}-disk`), tar: join(bench.userDir, `${name}-tar`) };
  let source = '';
  for (const [format, dir] of Object.entries(dirs) as ['disk' | 'tar', string][]) {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const p = projectToml(bench, c, format);
    writeFileSync(join(dir, 'kiln.toml'), p.toml);
    source = p.source;
  }
  chownToUser(bench);
  const build = (tool: string, dir: string, output: string): Tool => ({ name: tool, output: join(dir, 'out', output), argv: [process.execPath, bench.kilnBundle, 'build', '-C', dir, '--rebuild'], env, cwd: dir, steps: kilnSteps });
  const diskBuild = build('build-disk', dirs.disk, 'image.raw');
  const tarBuild = build('build-tar', dirs.tar, 'image.tar');
  const boot: Tool = {
    name: 'boot',
    // Nothing of the boot's to remove (the disk is used read-only, -snapshot).
    output: join(dirs.disk, 'boot-leaves-nothing'),
    argv: [process.execPath, bench.kilnBundle, 'boot', '-C', dirs.disk, '--expect', 'login:', '--timeout', String(BOOT_TIMEOUT_SECONDS)],
    env,
    cwd: dirs.disk,
  };
  const rows: Row[] = [diskBuild, boot, tarBuild].map((t) => ({ name: t.name, runs: [] }));
  const [diskRow, bootRow, tarRow] = rows as [Row, Row, Row];
  const accelerators = new Set<string>();
  const once = async (tool: Tool, row: Row, label: string): Promise<RunResult | undefined> => {
    if (row.error) return undefined;
    const r = await measureRun(bench, name, tool, label);
    if (tool === boot && r.code === 0) {
      const accel = acceleratorOf(readFileSync(logFile(bench, name, tool, label), 'utf8'));
      if (accel) accelerators.add(accel);
      else r.problem = 'the boot log does not say how QEMU ran (no "kiln: booting ... with" line)';
    }
    if (!good(r)) row.error = `${label}: ${r.problem ?? `exit ${r.code}`} (log ${logFile(bench, name, tool, label)})`;
    return r;
  };
  console.log(`[${name}] ${source}; warm-up builds (untimed: they fill the download cache)`);
  await once(diskBuild, diskRow, 'warm-up');
  await once(tarBuild, tarRow, 'warm-up');
  for (let i = 1; i <= bench.runs; i++) {
    const label = `run ${i}`;
    const d = await once(diskBuild, diskRow, label);
    if (d) diskRow.runs.push(d);
    // A boot needs this round's disk.
    if (d && good(d)) {
      const b = await once(boot, bootRow, label);
      if (b) bootRow.runs.push(b);
    } else if (!bootRow.error) bootRow.error = `${label}: not booted, the disk build failed`;
    const t = await once(tarBuild, tarRow, label);
    if (t) tarRow.runs.push(t);
  }
  const walls = (row: Row) => row.runs.filter(good).map((r) => r.wallSeconds);
  // Build then boot, round by round: only the rounds where both succeeded.
  const toLogin = diskRow.runs.flatMap((d, i) => (good(d) && bootRow.runs[i] && good(bootRow.runs[i]!) ? [d.wallSeconds + bootRow.runs[i]!.wallSeconds] : []));
  const summary = {
    buildDiskMedianSeconds: median(walls(diskRow)),
    bootToLoginMedianSeconds: median(walls(bootRow)),
    buildToLoginMedianSeconds: median(toLogin),
    buildTarMedianSeconds: median(walls(tarRow)),
    diskOverTarSeconds: undefined as number | undefined,
    accelerator: [...accelerators].join('; ') || undefined,
  };
  if (summary.buildDiskMedianSeconds !== undefined && summary.buildTarMedianSeconds !== undefined) summary.diskOverTarSeconds = summary.buildDiskMedianSeconds - summary.buildTarMedianSeconds;
  const s = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(1)} s`);
  const runsOf = (row: Row) => `${row.runs.map((r) => (good(r) ? r.wallSeconds.toFixed(1) : r.problem ? 'bad' : `exit ${r.code}`)).join(', ') || 'none'}${row.error ? `; FAILED ${row.error}` : ''}`;
  const lines = [
    `-- ${name}: ${c.board}, ${source}`,
    `  boot: ${summary.accelerator ?? 'no boot ran'}`,
    `  kiln build --rebuild, disk          ${s(summary.buildDiskMedianSeconds).padStart(9)}   runs: ${runsOf(diskRow)}`,
    `  kiln boot --expect login:           ${s(summary.bootToLoginMedianSeconds).padStart(9)}   runs: ${runsOf(bootRow)}`,
    `  build start to login: (sum)         ${s(summary.buildToLoginMedianSeconds).padStart(9)}`,
    `  kiln build --rebuild, tar           ${s(summary.buildTarMedianSeconds).padStart(9)}   runs: ${runsOf(tarRow)}`,
    `  disk build - tar build              ${s(summary.diskOverTarSeconds).padStart(9)}`,
  ];
  const section: { errors: Record<string, string> } & Record<string, unknown> = { board: c.board, configuration: source, summary, errors: Object.fromEntries(rows.flatMap((r) => (r.error ? [[r.name, r.error]] : []))), runs: Object.fromEntries(rows.map((r) => [r.name, r.runs])) };
  return { lines, section };
}

/** The report and latest.json's section, as the disk comparison's, and the rows that failed (the bench exits 1 for them). */
export interface BootBenchResult extends DiskBenchResult {
  failures: string[];
}

export async function runBoot(bench: Bench, cases: string[]): Promise<BootBenchResult> {
  const loadBefore = loadAverage();
  const failures: string[] = [];
  const mirror = hostMirrorFor('debian') as string;
  const proxy = await startProxy(join(bench.workDir, 'proxy-boot'));
  bench.defer(() => proxy.stop());
  const env = { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxy.urlFor(mirror) };
  const lines: string[] = [];
  const sections: Record<string, unknown> = {};
  for (const name of cases) {
    try {
      const r = await runCase(bench, name, BOOT_CASES[name]!, env);
      lines.push(...r.lines);
      sections[name] = r.section;
      failures.push(...Object.entries(r.section.errors).map(([row, error]) => `${name}, ${row}: ${error}`));
    } catch (err) {
      lines.push(`-- ${name}: FAILED: ${(err as Error).message.split('\n')[0]}`);
      sections[name] = { error: (err as Error).message };
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const report = [
    '== kiln build to login: (UEFI disks, Debian bookworm) ==',
    'Each round: `kiln build --rebuild` of the disk image (downloads cached), `kiln boot --expect login:` of it, and the same build with a tar output.',
    `Medians of ${bench.runs} timed rounds after an untimed warm-up build of each; wall clock as the unprivileged user. Load average (1, 5, 15 min) at the start ${loadBefore}, at the end ${loadAverage()}.`,
    '',
    ...lines,
  ].join('\n');
  return { report, section: { date: new Date().toISOString(), runsPerTool: bench.runs, loadAverage: { start: loadBefore, end: loadAverage() }, cases: sections }, failures };
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}

function chownToUser(bench: Bench): void {
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
}
