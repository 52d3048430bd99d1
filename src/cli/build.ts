import { Command, Option } from '@commander-js/extra-typings';
import { build, type BuildResult } from '../pipeline/build.ts';
import { STAGES, type StageName } from '../pipeline/stages.ts';
import { createReporter, formatBytes } from './reporter.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function buildCommand() {
  return imageOptions(new Command('build').description('build the image described by kiln.toml (or the host defaults)'))
    .option('-n, --dry-run', 'validate, resolve and print the plan (stages, packages, download size, outputs); change nothing')
    .addOption(new Option('--rebuild [stage]', 'run again from STAGE on (default: from the start), whatever is stored').choices(STAGES.filter((s) => s !== 'resolve')))
    .action(async (opts) => {
      const loaded = loadFromOptions(opts);
      const emit = createReporter({ tty: Boolean(process.stderr.isTTY), debug: Boolean(opts.debug) });
      const c = loaded.config;
      const profiles = loaded.profiles.length ? ` [${loaded.profiles.join(', ')}]` : '';
      emit({ kind: 'log', level: 'info', message: `building ${loaded.distribution.pretty} ${c['distribution.release']} ${c['distribution.architecture']} (${c['packages.base']})${profiles} from ${loaded.private.includes('distribution.mirror') ? '(a private mirror)' : c['distribution.mirror']}` });
      const started = performance.now();
      const rebuild = opts.rebuild === true ? true : (opts.rebuild as StageName | undefined);
      const result = await build(loaded, { emit, dryRun: Boolean(opts.dryRun), debug: Boolean(opts.debug), rebuild });
      if (opts.dryRun) {
        process.stdout.write(formatPlan(result));
        return;
      }
      emit({ kind: 'log', level: 'info', message: `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${result.outputs.join(', ')}` });
    });
}

/** The dry run's report: stages and what would happen to each, packages, download size, outputs. */
export function formatPlan(result: BuildResult): string {
  const lines = ['stages:'];
  for (const s of result.stages) lines.push(`  ${s.name.padEnd(10)} ${s.action === 'reuse' ? `reuse (${s.from})` : 'run'}${s.key ? `  ${s.key.slice(0, 12)}` : ''}`);
  lines.push('packages:');
  const width = Math.max(...result.plan.packages.map((p) => p.name.length + p.version.length + 1), 0);
  for (const p of result.plan.packages) lines.push(`  ${`${p.name} ${p.version}`.padEnd(width)}  ${p.architecture.padEnd(6)} ${formatBytes(p.size).padStart(10)}  (${p.reason})`);
  const total = result.plan.packages.reduce((a, p) => a + p.size, 0);
  const fetching = result.stages.find((s) => s.name === 'fetch')?.action === 'run';
  lines.push(`${result.plan.packages.length} packages, ${formatBytes(total)}${fetching ? ' to download (less what the cache holds)' : '; nothing to download (reused)'}`);
  lines.push(`outputs: ${result.outputs.join(', ')}`);
  return lines.join('\n') + '\n';
}
