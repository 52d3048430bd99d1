/**
 * kiln's disk step against genimage (Debian's `genimage`, run as its users
 * run it: under fakeroot, from a root directory), on the same finished
 * Debian bookworm minimal tree and the same two-partition GPT layout: an ESP
 * (vfat, 256 MiB, /efi, holding a 300 kB file as a bootloader would) and an
 * ext4 root of a fixed size.
 *
 * - genimage: `fakeroot -i STATE genimage ...` on the tree kiln built,
 *   extracted once under fakeroot (`fakeroot -s STATE tar -x`), with ext4 by
 *   mke2fs (`use-mke2fs = true`, its faster way). Its wall clock.
 * - kiln: `kiln build --rebuild output` of the same image (every stage up to
 *   finalize reused from its checkpoint): its output step as its log times it
 *   (the disk: staging, filesystems, table, assembly, the manifest's sha256),
 *   and its wall clock.
 * - The whole build: `kiln build --rebuild` of the disk image against the
 *   same configuration with a tar output, in the same alternation.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../src/catalog/host.ts';
import { median, type RunResult } from './measure.ts';
import { startProxy } from './proxy.ts';
import { asUser, kilnSteps, measureRun, type Bench, type Tool } from './runs.ts';

const RELEASE = 'bookworm';
const ROOT_SIZE_MIB = 1024;
const ESP_SIZE_MIB = 256;
/** kiln's disk step (its output step) over genimage's wall clock, at most this. */
export const DISK_RATIO_TARGET = 0.8;
/** The whole disk build at most this many seconds slower than the same build with a tar output. */
export const DISK_OVER_TAR_TARGET_SECONDS = 2;

const TOOLS = ['/usr/bin/genimage', '/usr/bin/fakeroot', '/usr/sbin/mke2fs', '/usr/sbin/mkfs.vfat', '/usr/bin/mcopy', '/usr/sbin/sgdisk'];

/** Why the comparison cannot run here, or undefined. */
export function diskPreflight(): string | undefined {
  if (!hostMirrorFor('debian')) return 'no Debian mirror in the host apt sources (/etc/apt/sources.list, sources.list.d)';
  const missing = TOOLS.filter((t) => !existsSync(t));
  return missing.length ? `missing ${missing.join(', ')} (apt-get install genimage fakeroot e2fsprogs dosfstools mtools gdisk)` : undefined;
}

function kilnConfig(bench: Bench, format: string): string {
  return [
    '# Written by bench/disk.ts; distribution.mirror comes from KILN_DISTRIBUTION_MIRROR (host mirror via the bench proxy).',
    '[distribution]',
    'name = "debian"',
    `release = "${RELEASE}"`,
    `architecture = "${bench.hostArch}"`,
    '',
    '[packages]',
    'base = "minimal"',
    '',
    '[overlay]',
    'extra = "../esp-overlay"',
    '',
    '[[partition]]',
    'type = "esp"',
    'filesystem = "vfat"',
    'contents = "/efi"',
    `size = "${ESP_SIZE_MIB}M"`,
    '',
    '[[partition]]',
    'type = "root"',
    'filesystem = "ext4"',
    `size = "${ROOT_SIZE_MIB}M"`,
    '',
    '[output]',
    `format = ["${format}"]`,
    '',
    '[build]',
    `cache-directory = "${bench.kilnCache}"`,
    '',
  ].join('\n');
}

/** genimage's equivalent of kiln's layout: an ESP from /efi and the root, in a GPT disk. */
function genimageConfig(): string {
  return [
    'image efi.vfat {',
    '  mountpoint = "/efi"',
    '  vfat { }',
    `  size = ${ESP_SIZE_MIB}M`,
    '}',
    'image root.ext4 {',
    '  ext4 {',
    '    use-mke2fs = true',
    '    label = "root"',
    '  }',
    `  size = ${ROOT_SIZE_MIB}M`,
    '}',
    'image disk.img {',
    '  hdimage { partition-table-type = "gpt" }',
    '  partition esp {',
    '    image = "efi.vfat"',
    '    partition-type-uuid = "U"',
    '  }',
    '  partition root {',
    '    image = "root.ext4"',
    '    partition-type-uuid = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface DiskBenchResult {
  report: string;
  section: Record<string, unknown>;
}

const walls = (runs: RunResult[]) => runs.filter((r) => r.code === 0 && !r.problem).map((r) => r.wallSeconds);
const outputSteps = (runs: RunResult[]) => runs.filter((r) => r.code === 0 && r.steps?.output !== undefined).map((r) => r.steps!.output as number);

export async function runDisk(bench: Bench): Promise<DiskBenchResult> {
  const mirror = hostMirrorFor('debian') as string;
  const proxy = await startProxy(join(bench.workDir, 'proxy-disk'));
  bench.defer(() => proxy.stop());
  const env = { ...bench.baseEnv, KILN_DISTRIBUTION_MIRROR: proxy.urlFor(mirror) };
  const dirs = { disk: join(bench.userDir, 'kiln-disk'), tar: join(bench.userDir, 'kiln-disk-tar'), genimage: join(bench.userDir, 'genimage') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o755 });
  writeFileSync(join(dirs.disk, 'kiln.toml'), kilnConfig(bench, 'disk'));
  writeFileSync(join(dirs.tar, 'kiln.toml'), kilnConfig(bench, 'tar'));
  writeFileSync(join(dirs.genimage, 'genimage.cfg'), genimageConfig());
  // The ESP holds what a bootloader would put there (genimage cannot make an empty vfat from a mount point).
  const esp = join(bench.userDir, 'esp-overlay', 'efi', 'EFI', 'BOOT');
  mkdirSync(esp, { recursive: true });
  writeFileSync(join(esp, 'BOOTX64.EFI'), Buffer.alloc(300_000, 0x4b));
  writeFileSync(join(esp, 'loader.conf'), 'timeout 3\n');
  chownToUser(bench);

  const kiln = (name: string, dir: string, output: string, rebuild: string[]): Tool => ({
    name,
    output: join(dir, 'out', output),
    argv: [process.execPath, bench.kilnBundle, 'build', '-C', dir, '--rebuild', ...rebuild],
    env,
    cwd: dir,
    steps: kilnSteps,
  });
  const diskStep = kiln('kiln-disk', dirs.disk, 'image.raw', ['output']);
  const wholeDisk = kiln('kiln-whole-disk', dirs.disk, 'image.raw', []);
  const wholeTar = kiln('kiln-whole-tar', dirs.tar, 'image.tar', []);

  // The tree genimage starts from: the one kiln built (its tar), extracted under fakeroot.
  console.log('[disk] preparing: a kiln build with a tar output, extracted under fakeroot for genimage');
  const first = await measureRun(bench, 'disk', wholeTar, 'prepare');
  if (first.code !== 0) throw new Error('the kiln tar build that genimage starts from failed');
  const rootfs = join(dirs.genimage, 'rootfs');
  const state = join(dirs.genimage, 'fakeroot.state');
  const extract = asUser(bench, ['sh', '-c', `rm -rf "${rootfs}" && mkdir "${rootfs}" && fakeroot -s "${state}" -- tar -xpf "${wholeTar.output}" --numeric-owner -C "${rootfs}" && mkdir -p "${rootfs}/efi"`]);
  if (extract.status !== 0) throw new Error(`extracting the tree under fakeroot failed: ${extract.stderr.trim()}`);
  const run = join(dirs.genimage, 'run');
  const genimage: Tool = {
    name: 'genimage',
    output: run,
    argv: [
      'sh',
      '-c',
      `mkdir -p "${run}/in" "${run}/out" && exec fakeroot -i "${state}" -- genimage --rootpath "${rootfs}" --tmppath "${run}/tmp" --inputpath "${run}/in" --outputpath "${run}/out" --config "${join(dirs.genimage, 'genimage.cfg')}"`,
    ],
    env: bench.baseEnv,
    cwd: dirs.genimage,
  };

  const tools = [genimage, diskStep, wholeDisk, wholeTar];
  const results = new Map<Tool, RunResult[]>(tools.map((t) => [t, []]));
  const once = async (tool: Tool, label: string): Promise<RunResult> => {
    const r = await measureRun(bench, 'disk', tool, label);
    if (r.code === 0) r.problem = checkDisk(bench, tool === genimage ? join(run, 'out', 'disk.img') : tool.output, tool !== wholeTar);
    if (r.problem) console.log(`[disk] ${tool.name} ${label}: BAD OUTPUT: ${r.problem}`);
    return r;
  };
  for (const tool of tools) await once(tool, 'warm-up');
  for (let i = 1; i <= bench.runs; i++) for (const tool of tools) results.get(tool)!.push(await once(tool, `run ${i}`));

  const genimageMedian = median(walls(results.get(genimage)!));
  const stepMedian = median(outputSteps(results.get(diskStep)!));
  const diskWall = median(walls(results.get(diskStep)!));
  const wholeDiskMedian = median(walls(results.get(wholeDisk)!));
  const wholeTarMedian = median(walls(results.get(wholeTar)!));
  const ratio = stepMedian !== undefined && genimageMedian ? stepMedian / genimageMedian : undefined;
  const overTar = wholeDiskMedian !== undefined && wholeTarMedian !== undefined ? wholeDiskMedian - wholeTarMedian : undefined;
  const summary = {
    genimageMedianSeconds: genimageMedian,
    kilnDiskStepMedianSeconds: stepMedian,
    kilnRebuildOutputWallMedianSeconds: diskWall,
    ratio,
    ratioTarget: DISK_RATIO_TARGET,
    ratioPass: ratio === undefined ? undefined : ratio <= DISK_RATIO_TARGET,
    kilnWholeDiskMedianSeconds: wholeDiskMedian,
    kilnWholeTarMedianSeconds: wholeTarMedian,
    diskOverTarSeconds: overTar,
    diskOverTarTargetSeconds: DISK_OVER_TAR_TARGET_SECONDS,
    diskOverTarPass: overTar === undefined ? undefined : overTar <= DISK_OVER_TAR_TARGET_SECONDS,
    kilnSteps: medianOutputSteps(results.get(wholeDisk)!),
  };
  const s = (n: number | undefined) => (n === undefined ? '-' : `${n.toFixed(2)} s`);
  const ok = (p: boolean | undefined) => (p === undefined ? '?' : p ? 'PASS' : 'FAIL');
  const report = [
    '== kiln disk vs genimage ==',
    `Debian ${RELEASE} ${bench.hostArch} minimal, GPT: ESP vfat ${ESP_SIZE_MIB} MiB (/efi) + ext4 root ${ROOT_SIZE_MIB} MiB, the same tree on both sides.`,
    'genimage: under fakeroot (its users\' way), ext4 by mke2fs, from the tree kiln built extracted under fakeroot. Wall clock.',
    'kiln: `build --rebuild output` (stages up to finalize reused): its output step as its log times it, and its wall clock.',
    `Medians of ${bench.runs} alternating warm runs.`,
    '',
    `  genimage                              ${s(genimageMedian)}`,
    `  kiln disk step (output)               ${s(stepMedian)}   kiln/genimage ${ratio?.toFixed(2) ?? '-'} (target <= ${DISK_RATIO_TARGET}) ${ok(summary.ratioPass)}`,
    `  kiln build --rebuild output (wall)    ${s(diskWall)}`,
    `  kiln build --rebuild, disk output     ${s(wholeDiskMedian)}`,
    `  kiln build --rebuild, tar output      ${s(wholeTarMedian)}   disk - tar ${s(overTar)} (target <= ${DISK_OVER_TAR_TARGET_SECONDS} s) ${ok(summary.diskOverTarPass)}`,
    '',
    ...tools.map((t) => `runs (${t.name}): ${results.get(t)!.map((r) => (r.problem ? 'bad output' : r.code === 0 ? r.wallSeconds.toFixed(2) : `exit ${r.code}`)).join(', ')}`),
  ].join('\n');
  const section = {
    date: new Date().toISOString(),
    genimage: execFileSync('genimage', ['--version'], { encoding: 'utf8' }).trim(),
    layout: { table: 'gpt', espMiB: ESP_SIZE_MIB, rootMiB: ROOT_SIZE_MIB },
    runsPerTool: bench.runs,
    summary,
    runs: Object.fromEntries(tools.map((t) => [t.name, results.get(t)])),
  };
  return { report, section };
}

function medianOutputSteps(runs: RunResult[]): Record<string, number> | undefined {
  const good = runs.filter((r) => r.code === 0 && r.steps);
  if (!good.length) return undefined;
  const names = [...new Set(good.flatMap((r) => Object.keys(r.steps!)))];
  return Object.fromEntries(names.map((n) => [n, median(good.map((r) => r.steps![n] ?? 0)) as number]));
}

/** A disk output that sgdisk finds fault with is a bad run (left out of the medians). */
function checkDisk(bench: Bench, file: string, isDisk: boolean): string | undefined {
  if (!isDisk) return undefined;
  if (!existsSync(file)) return `no ${file}`;
  const r = asUser(bench, ['sgdisk', '-v', file]);
  return r.status === 0 && /No problems found/.test(r.stdout) ? undefined : `sgdisk -v: ${(r.stdout + r.stderr).trim().split('\n').pop()}`;
}

function chownToUser(bench: Bench): void {
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${bench.user}:`, bench.userDir]);
}

