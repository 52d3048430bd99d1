/** What `kiln build --dry-run` prints (kept apart from the command, so it can be tested without starting the CLI). */
import type { BuildResult } from '../pipeline/build.ts';
import { diskPartitions, outputTools, writerOrder, type OutputFormat } from '../outputs/index.ts';
import { ubootPlanLines } from '../boot/uboot-blobs.ts';
import { formatSize } from '../disk/index.ts';
import type { Config } from '../config/index.ts';
import { formatBytes } from './reporter.ts';

/** The dry run's report: stages and what would happen to each, packages, download size, outputs and the host tools each needs, and the disk plan when a disk output is asked for. */
export function formatPlan(result: BuildResult, formats: readonly OutputFormat[], disk?: { config: Config; imageDir: string }): string {
  const lines = ['stages:'];
  for (const s of result.stages) lines.push(`  ${s.name.padEnd(10)} ${s.action === 'reuse' ? `reuse (${s.from})` : 'run'}${s.key ? `  ${s.key.slice(0, 12)}` : ''}`);
  lines.push('packages:');
  const width = Math.max(...result.plan.packages.map((p) => p.name.length + p.version.length + 1), 0);
  for (const p of result.plan.packages) lines.push(`  ${`${p.name} ${p.version}`.padEnd(width)}  ${p.architecture.padEnd(6)} ${formatBytes(p.size).padStart(10)}  (${p.reason})`);
  const total = result.plan.packages.reduce((a, p) => a + p.size, 0);
  const fetching = result.stages.find((s) => s.name === 'fetch')?.action === 'run';
  lines.push(`${result.plan.packages.length} packages, ${formatBytes(total)}${fetching ? ' to download (less what the cache holds)' : '; nothing to download (reused)'}`);
  lines.push(`outputs: ${result.outputs.join(', ')}`);
  for (const w of outputTools(formats)) {
    const tools = `host tools: ${w.tools.map((t) => t.tool.command).join(', ') || 'none'}`;
    lines.push(`  ${w.format.padEnd(10)} ${tools}${w.intermediate ? ' (written to make another output, then removed)' : ''}`);
  }
  if (disk && writerOrder(formats).includes('partitions')) lines.push(...diskPlanLines(disk.config, disk.imageDir));
  return lines.join('\n') + '\n';
}

/** The disk as planned before the content is measured: what is fixed is shown, auto sizes as such. */
export function diskPlanLines(config: Config, imageDir: string): string[] {
  const size = config['disk.size'];
  const lines = [`disk: ${config['disk.table']}, size ${size === 'auto' ? 'auto (the partitions and the table)' : formatSize(size)}, alignment ${formatSize(config['disk.alignment'])}, /etc/fstab by ${config['disk.fstab']}`];
  for (const p of diskPartitions(config, imageDir)) {
    const { spec } = p;
    const fields = [
      `${p.number}: ${spec.type}`,
      p.image ? `prebuilt image ${config['disk.partitions'][p.number - 1]!.image}` : `filesystem ${p.filesystem}`,
      ...(p.contents ? [`contents ${p.contents}`] : []),
      ...(p.mount && p.mount !== p.contents ? [`mounted at ${p.mount}`] : []),
      ...(spec.label ? [`label ${JSON.stringify(spec.label)}`] : []),
      ...(spec.offset !== undefined ? [`at ${formatSize(spec.offset)}`] : []),
      `size ${typeof spec.size === 'number' ? formatSize(spec.size) : 'auto (from the content)'}`,
      ...(spec.minimum !== undefined ? [`minimum ${formatSize(spec.minimum)}`] : []),
      ...(spec.maximum !== undefined ? [`maximum ${formatSize(spec.maximum)}`] : []),
      ...(spec.grow ? ['grows'] : []),
      ...(spec.bootable ? ['bootable'] : []),
    ];
    lines.push(`  partition ${fields.join(', ')}`);
  }
  for (const b of config['disk.blobs']) lines.push(`  blob ${b.file} at ${formatSize(b.offset)}`);
  lines.push(...ubootPlanLines(config));
  return lines;
}
