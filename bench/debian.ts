/**
 * kiln against mmdebstrap, building the same Debian bookworm minimal root
 * filesystems (88 packages) from the host's Debian mirror through one
 * private, warm apt-cacher-ng on 127.0.0.1. Both write a tar.
 *
 * mmdebstrap runs two ways in the same alternation: as it comes (TMPDIR
 * unset: its chroot, and the .debs apt downloads into it, in /tmp, on disk
 * here) and with TMPDIR on a tmpfs (a directory of its own in /dev/shm), the
 * way its users make it fast. In unshare mode TMPDIR is where it makes the
 * temporary chroot that it then packs into the tar, its apt.conf and its
 * gpg home. kiln's default workspace is a tmpfs, so the ratio that counts
 * is against the faster of the two.
 *
 * A foreign case also runs kiln with build.emulation = "full" (every program
 * under QEMU) in the same alternation, so the native twins' gain shows; and
 * the summary holds kiln's foreign median over its host-architecture one
 * (kiln arm64 / kiln amd64, issue 11's target).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { ensureHostBinfmt } from './binfmt.ts';
import { countPackages, isRoot, type RunResult } from './measure.ts';
import { startProxy, type Proxy } from './proxy.ts';
import type { CaseResult, Comparison, ToolResult } from './report.ts';
import { alternate, kilnSteps, measureRun, removeOutput, SHM, shmDirectory, type Bench, type ComparisonRun, type Tool } from './runs.ts';

const RELEASE = 'bookworm';
/** Where mmdebstrap's tmpfs runs get a TMPDIR of their own. */

export const mmdebstrapComparison: Comparison = {
  baseline: 'mmdebstrap',
  short: 'mm',
  ratioTargets: { amd64: 0.5, arm64: 0.2 },
  foreignOverNativeTarget: 1.5,
  memoryTargetMB: 400,
  wholeLabel: 'ii',
  description: [
    `Debian ${RELEASE} minimal (mmdebstrap --variant=minbase, kiln packages.base = "minimal"), a tar on each side,`,
    'from the host\'s Debian mirror through a private warm apt-cacher-ng on 127.0.0.1; the tars are written to disk.',
    'kiln: its default workspace, a tmpfs (build.workspace = tmpfs). mmdebstrap: "disk" = as it comes (TMPDIR unset,',
    `its temporary chroot in /tmp, on disk here), "tmpfs" = TMPDIR on a directory of its own in ${SHM} (its chroot there is`,
    `host tmpfs, in none of mmdebstrap's memory figures).`,
  ],
};

/**
 * The minimal cases (against mmdebstrap) and the bootable set's (kiln only:
 * linux-image-ARCH, systemd-sysv and udev, the kernel postinst's
 * initramfs included; the foreign one also with build.emulation = "full",
 * and its tar compared with the native-twin build's).
 */
export const DEBIAN_CASES = ['amd64', 'arm64', 'amd64-bootable', 'arm64-bootable'];
const BOOTABLE_SET = (arch: string) => [`linux-image-${arch}`, 'systemd-sysv', 'udev'];

/** Why the comparison cannot run here, or undefined. */
export function debianPreflight(arches: string[]): string | undefined {
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)';
  for (const tool of ['/usr/bin/mmdebstrap', '/usr/sbin/apt-cacher-ng']) if (!existsSync(tool)) return `${tool} is missing`;
  // mmdebstrap refuses a foreign architecture without arch-test ("install arch-test for foreign architecture support").
  const hostArch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  if (arches.some((a) => a !== hostArch && !a.endsWith('-bootable')) && !existsSync('/usr/bin/arch-test')) {
    if (!isRoot) return '/usr/bin/arch-test is missing: mmdebstrap needs it for a foreign architecture (apt-get install arch-test)';
    console.log('bench: installing arch-test (mmdebstrap needs it for a foreign architecture)');
    execFileSync('apt-get', ['install', '-y', '-q', 'arch-test'], { stdio: 'inherit' });
  }
  return undefined;
}

export async function runDebian(bench: Bench, arches: string[]): Promise<ComparisonRun> {
  const mirror = hostMirrorFor('debian') as string;
  const proxy = await startProxy(join(bench.workDir, 'proxy'));
  bench.defer(() => proxy.stop());
  const proxyUrl = proxy.urlFor(mirror);
  console.log(`bench: apt-cacher-ng on 127.0.0.1:${proxy.port} in front of the host's Debian mirror`);
  const cases: CaseResult[] = [];
  for (const name of arches) {
    const [arch = name, variant] = name.split('-');
    cases.push(variant === 'bootable' ? await runBootableCase(bench, proxy, arch, proxyUrl) : await runCase(bench, proxy, arch, proxyUrl));
  }
  const mirrorHost = new URL(mirror).host;
  return {
    comparison: mmdebstrapComparison,
    cases,
    meta: {
      mmdebstrap: execFileSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).trim(),
      mirror: "the host's Debian mirror (apt sources) through apt-cacher-ng on 127.0.0.1, warm",
      workspaces: {
        kiln: 'kiln default (build.workspace = tmpfs)',
        mmdebstrap: 'mmdebstrap default (TMPDIR unset: its temporary chroot in /tmp, on disk here)',
        mmdebstrapTmpfs: `TMPDIR on a directory of its own in ${SHM} (tmpfs): its temporary chroot, apt.conf and gpg home there`,
      },
      ratio: 'kiln median over the faster of the mmdebstrap medians (disk, tmpfs); both ratios are in the summary',
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

/** A directory of the bench user's own on the tmpfs at /dev/shm, removed at the end. */
function tmpfsDirectory(bench: Bench, arch: string): string {
  return shmDirectory(bench, `mmdebstrap-${arch}`, 'no TMPDIR on a tmpfs for mmdebstrap');
}

async function runCase(bench: Bench, proxy: Proxy, arch: string, proxyUrl: string): Promise<CaseResult> {
  const foreign = arch !== bench.hostArch;
  const result: CaseResult = { name: `${RELEASE} ${arch} minimal`, architecture: arch, foreign, notes: [], baseline: { runs: [] }, baselineTmpfs: { runs: [] }, kiln: { runs: [] } };
  const kilnDir = writeKilnProject(bench, arch, `kiln-${arch}`, []);
  // The same build with every program under QEMU: what the native twins save.
  const kilnFullDir = foreign ? writeKilnProject(bench, arch, `kiln-${arch}-full`, ['emulation = "full"']) : undefined;
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
  const mmOutput = join(bench.userDir, `mmdebstrap-${arch}.tar`);
  const mm: Tool = {
    name: 'mmdebstrap',
    output: mmOutput,
    argv: ['mmdebstrap', '--mode=unshare', '--variant=minbase', `--architectures=${arch}`, '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr', RELEASE, mmOutput, proxyUrl],
    env: bench.baseEnv,
    cwd: bench.userDir,
  };
  const mmTmpfsOutput = join(bench.userDir, `mmdebstrap-tmpfs-${arch}.tar`);
  const mmTmpfs: Tool = {
    ...mm,
    name: 'mmdebstrap-tmpfs',
    output: mmTmpfsOutput,
    argv: mm.argv.map((a) => (a === mmOutput ? mmTmpfsOutput : a)),
    env: { ...bench.baseEnv, TMPDIR: '' },
  };
  try {
    mmTmpfs.env.TMPDIR = tmpfsDirectory(bench, arch);
  } catch (err) {
    (result.baselineTmpfs as ToolResult).error = (err as Error).message;
  }
  const kiln: Tool = {
    name: 'kiln',
    output: join(kilnDir, 'out', 'image.tar'),
    argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnDir, '--rebuild'],
    env: { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxyUrl },
    cwd: kilnDir,
    steps: kilnSteps,
  };
  const kilnFull: Tool | undefined = kilnFullDir === undefined ? undefined : {
    ...kiln,
    name: 'kiln-full',
    output: join(kilnFullDir, 'out', 'image.tar'),
    argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnFullDir, '--rebuild'],
    cwd: kilnFullDir,
  };
  if (kilnFull) result.kilnFull = { runs: [] };

  if (foreign) {
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
  const tools: [Tool, ToolResult][] = [[mm, result.baseline], [mmTmpfs, result.baselineTmpfs as ToolResult], [kiln, result.kiln]];
  if (kilnFull && result.kilnFull) tools.push([kilnFull, result.kilnFull]);
  await alternate(bench, arch, tools.map(([tool, r]) => ({ tool, result: r })), runOnce);
  for (const [tool, r] of tools) {
    if (!existsSync(tool.output)) continue;
    r.packages = await countPackages(tool.output);
    r.outputBytes = statSync(tool.output).size;
  }
  return result;
}

/**
 * The bootable set, kiln only (native twins, and for a foreign architecture
 * full emulation in the same alternation): the foreign case's kiln over the
 * host-architecture bootable case's is the ratio issue 11 wants <= 1.5.
 * The two foreign tars must be the same: a note says whether they are.
 */
async function runBootableCase(bench: Bench, proxy: Proxy, arch: string, proxyUrl: string): Promise<CaseResult> {
  const foreign = arch !== bench.hostArch;
  const notes = ['kiln only (no mmdebstrap row): Debian bookworm minimal + ' + BOOTABLE_SET(arch).join(', ')];
  const result: CaseResult = { name: `${RELEASE} ${arch} bootable`, architecture: arch, foreign, variant: 'bootable', notes, baseline: { runs: [] }, kiln: { runs: [] } };
  const kilnDir = writeKilnProject(bench, arch, `kiln-${arch}-bootable`, [], BOOTABLE_SET(arch));
  const kilnFullDir = foreign && bench.fullBootable ? writeKilnProject(bench, arch, `kiln-${arch}-bootable-full`, ['emulation = "full"'], BOOTABLE_SET(arch)) : undefined;
  if (foreign && !bench.fullBootable) notes.push('kiln-full (build.emulation = "full") not run: --full-bootable runs it (about 12 minutes a run here) and compares the tars; KILN_TEST_SLOW=1 native-twins-boot.test.ts compares the same two tars');
  if (isRoot) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
  const kiln: Tool = {
    name: 'kiln',
    output: join(kilnDir, 'out', 'image.tar'),
    argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnDir, '--rebuild'],
    env: { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxyUrl },
    cwd: kilnDir,
    steps: kilnSteps,
  };
  const tools: [Tool, ToolResult][] = [[kiln, result.kiln]];
  if (kilnFullDir) {
    result.kilnFull = { runs: [] };
    tools.push([{ ...kiln, name: 'kiln-full', output: join(kilnFullDir, 'out', 'image.tar'), argv: [process.execPath, bench.kilnBundle, 'build', '-C', kilnFullDir, '--rebuild'], cwd: kilnFullDir }, result.kilnFull]);
  }
  const runOnce = async (tool: Tool, label: string): Promise<RunResult> => {
    await reviveProxy(proxy, result.notes);
    return measureRun(bench, arch, tool, label);
  };
  await alternate(bench, arch, tools.map(([tool, r]) => ({ tool, result: r })), runOnce);
  for (const [tool, r] of tools) {
    if (!existsSync(tool.output)) continue;
    r.packages = await countPackages(tool.output);
    r.outputBytes = statSync(tool.output).size;
  }
  const [twins, full] = tools.map(([tool]) => tool.output);
  if (full && twins && existsSync(full) && existsSync(twins)) {
    const same = fileSha256(twins) === fileSha256(full);
    notes.push(`the native-twin tar and the full-emulation tar are ${same ? 'the same (sha256)' : 'DIFFERENT'}`);
  }
  return result;
}

function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A kiln project for the case (Debian bookworm minimal, a tar, and `install`), with extra [build] lines; its directory. */
function writeKilnProject(bench: Bench, arch: string, name: string, buildLines: string[], install: string[] = []): string {
  const dir = join(bench.userDir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // The mirror is passed as KILN_DISTRIBUTION_MIRROR so that no mirror host name is written to a file.
  writeFileSync(
    join(dir, 'kiln.toml'),
    [
      '# Written by bench/debian.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
      '[distribution]',
      'name = "debian"',
      `release = "${RELEASE}"`,
      `architecture = "${arch}"`,
      '',
      '[packages]',
      'base = "minimal"',
      ...(install.length ? [`install = ${JSON.stringify(install)}`] : []),
      '',
      '[output]',
      'format = ["tar"]',
      '',
      '[build]',
      `cache-directory = "${bench.kilnCache}"`,
      ...buildLines,
      '',
    ].join('\n'),
  );
  return dir;
}
