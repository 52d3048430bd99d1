import { Command } from '@commander-js/extra-typings';
import { build } from '../pipeline/build.ts';
import { createReporter, formatBytes } from './reporter.ts';
import { imageOptions, loadFromOptions } from './main.ts';

export function buildCommand() {
  return imageOptions(new Command('build').description('build the image described by kiln.toml (or the host defaults)'))
    .option('-n, --dry-run', 'validate, resolve and print the plan; change nothing')
    .action(async (opts) => {
      const loaded = loadFromOptions(opts);
      const emit = createReporter({ tty: Boolean(process.stderr.isTTY), debug: Boolean(opts.debug) });
      const c = loaded.config;
      emit({ kind: 'log', level: 'info', message: `building ${loaded.distribution.pretty} ${c['distribution.release']} ${c['distribution.architecture']} (${c['packages.base']}) from ${c['distribution.mirror']}` });
      const started = performance.now();
      const result = await build(loaded, { emit, dryRun: Boolean(opts.dryRun), debug: Boolean(opts.debug) });
      if (opts.dryRun) {
        const total = result.plan.packages.reduce((a, p) => a + p.size, 0);
        for (const p of result.plan.packages) process.stdout.write(`${p.name} ${p.version} ${p.architecture} ${formatBytes(p.size)}  (${p.reason})\n`);
        process.stdout.write(`${result.plan.packages.length} packages, ${formatBytes(total)} to download\noutputs: ${result.outputs.join(', ')}\n`);
        return;
      }
      emit({ kind: 'log', level: 'info', message: `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${result.outputs.join(', ')}` });
    });
}
