/** What `kiln build --dry-run` prints (kept apart from the command, so it can be tested without starting the CLI). */
import type { BuildResult } from '../pipeline/build.ts';
import { outputTools, type OutputFormat } from '../outputs/index.ts';
import { formatBytes } from './reporter.ts';

/** The dry run's report: stages and what would happen to each, packages, download size, outputs and the host tools each needs. */
export function formatPlan(result: BuildResult, formats: readonly OutputFormat[]): string {
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
  return lines.join('\n') + '\n';
}
