/**
 * kiln against mmdebstrap, building the same Debian bookworm minimal root
 * filesystems (88 packages) from the host's Debian mirror through one
 * private, warm apt-cacher-ng on 127.0.0.1. Both write a tar.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { ensureHostBinfmt } from './binfmt.ts';
import { countPackages, isRoot, type RunResult } from './measure.ts';
import { startProxy, type Proxy } from './proxy.ts';
import type { CaseResult, Comparison } from './report.ts';
import { alternate, kilnSteps, measureRun, type Bench, type ComparisonRun, type Tool } from './runs.ts';

const RELEASE = 'bookworm';

export const mmdebstrapComparison: Comparison = {
  baseline: 'mmdebstrap',
  short: 'mm',
  ratioTargets: { amd64: 0.5, arm64: 0.3 },
  memoryTargetMB: 400,
  wholeLabel: 'ii',
  description: [
    `Debian ${RELEASE} minimal (mmdebstrap --variant=minbase, kiln packages.base = "minimal"), a tar on each side,`,
    'from the host\'s Debian mirror through a private warm apt-cacher-ng on 127.0.0.1.',
  ],
};

export const DEBIAN_CASES = ['amd64', 'arm64'];

/** Why the comparison cannot run here, or undefined. */
export function debianPreflight(): string | undefined {
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)';
  for (const tool of ['/usr/bin/mmdebstrap', '/usr/sbin/apt-cacher-ng']) if (!existsSync(tool)) return `${tool} is missing`;
  return undefined;
}

export async function runDebian(bench: Bench, arches: string[]): Promise<ComparisonRun> {
  const mirror = hostMirrorFor('debian') as string;
  const proxy = await startProxy(join(bench.workDir, 'proxy'));
  bench.defer(() => proxy.stop());
  const proxyUrl = proxy.urlFor(mirror);
  console.log(`bench: apt-cacher-ng on 127.0.0.1:${proxy.port} in front of the host's Debian mirror`);
  const cases: CaseResult[] = [];
  for (const arch of arches) cases.push(await runCase(bench, proxy, arch, proxyUrl));
  const mirrorHost = new URL(mirror).host;
  return {
    comparison: mmdebstrapComparison,
    cases,
    meta: {
      mmdebstrap: execFileSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).trim(),
      mirror: "the host's Debian mirror (apt sources) through apt-cacher-ng on 127.0.0.1, warm",
      workspaces: { kiln: 'kiln default (build.workspace = tmpfs)', mmdebstrap: 'mmdebstrap default (TMPDIR unset: /tmp)' },
      kiln: 'kiln build --rebuild: every stage runs (nothing reused from an earlier run) and its checkpoints are written, as in a first build',
    },
    redact: (text) => text.split(mirrorHost).join('<host mirror>'),
  };
}

/** Restarts the proxy if something stopped it (same port and cache, so still warm); says so in `notes`. */
async function reviveProxy(proxy: Proxy, notes: string[]): Promise<boolean> {
  if (proxy.alive()) return false;
  const note = `apt-cacher-ng was ${proxy.exitReason()} during the bench; restarted it (same port and cache)`;
  console.log(`bench: ${note}`);
  notes.push(note);
  await proxy.restart();
  return true;
}

async function runCase(bench: Bench, proxy: Proxy, arch: string, proxyUrl: string): Promise<CaseResult> {
  const result: CaseResult = { name: `${RELEASE} ${arch} minimal`, architecture: arch, notes: [], baseline: { runs: [] }, kiln: { runs: [] } };
  const kilnDir = join(bench.userDir, `kiln-${arch}`);
  mkdirSync(kilnDir, { recursive: true, mode: 0o755 });
  // The mirror is passed as KILN_DISTRIBUTION_MIRROR so that no mirror host name is written to a file.
  writeFileSync(
    join(kilnDir, 'kiln.toml'),
    [
      '# Written by bench/debian.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
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
      `cache-directory = "${bench.kilnCache}"`,
      '',
    ].join('\n'),
  );
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
  const mmOutput = join(bench.userDir, `mmdebstrap-${arch}.tar`);
  const mm: Tool = {
    name: 'mmdebstrap',
    output: mmOutput,
    argv: ['mmdebstrap', '--mode=unshare', '--variant=minbase', `--architectures=${arch}`, '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr', RELEASE, mmOutput, proxyUrl],
    env: bench.baseEnv,
    cwd: bench.userDir,
  };
  const kiln: Tool = {
    name: 'kiln',
    output: join(kilnDir, 'out', 'image.tar'),
    argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnDir, '--rebuild'],
    env: { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxyUrl },
    cwd: kilnDir,
    steps: kilnSteps,
  };

  if (arch !== bench.hostArch) {
    try {
      const binfmt = ensureHostBinfmt(arch, 'mmdebstrap');
      bench.defer(binfmt.undo);
      result.notes.push(binfmt.note);
      console.log(`[${arch}] ${binfmt.note}`);
    } catch (err) {
      result.baseline.error = `host binfmt: ${(err as Error).message}`;
    }
    result.notes.push('kiln uses its own binfmt_misc in its namespace on Linux >= 6.7 (build.binfmt = auto), not the host registration');
  }

  // One run; run again once if it failed because the proxy was killed under it.
  const runOnce = async (tool: Tool, label: string): Promise<RunResult> => {
    await reviveProxy(proxy, result.notes);
    const first = await measureRun(bench, arch, tool, label);
    if (first.code === 0 || !(await reviveProxy(proxy, result.notes))) return first;
    return measureRun(bench, arch, tool, label);
  };
  await alternate(bench, arch, [{ tool: mm, result: result.baseline }, { tool: kiln, result: result.kiln }], runOnce);
  for (const [tool, r] of [[mm, result.baseline], [kiln, result.kiln]] as const) {
    if (!existsSync(tool.output)) continue;
    r.packages = await countPackages(tool.output);
    r.outputBytes = statSync(tool.output).size;
  }
  return result;
}
