import { Command, Option } from '@commander-js/extra-typings';
import { build } from '../pipeline/build.ts';
import { STAGES, type StageName } from '../pipeline/stages.ts';
import { formatPlan } from './dry-run.ts';
import { createReporter } from './reporter.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function buildCommand() {
  return imageOptions(new Command('build').description('build the image described by kiln.toml (or the host defaults)'))
    .option('-n, --dry-run', 'validate, resolve and print the plan (stages, packages, download size, outputs); change nothing')
    .addOption(new Option('--rebuild [stage]', 'run again from STAGE on (default: from the start), whatever is stored').choices(STAGES.filter((s) => s !== 'resolve')))
    .option('--no-lock', 'resolve afresh and ignore kiln.lock (lock.use = false)')
    .action(async (opts) => {
      const loaded = loadFromOptions({ ...opts, set: [...opts.set, ...(opts.lock ? [] : ['lock.use=false'])] });
      const emit = createReporter({ tty: Boolean(process.stderr.isTTY), debug: Boolean(opts.debug) });
      const c = loaded.config;
      const profiles = loaded.profiles.length ? ` [${loaded.profiles.join(', ')}]` : '';
      emit({ kind: 'log', level: 'info', message: `building ${loaded.distribution.pretty} ${c['distribution.release']} ${c['distribution.architecture']} (${c['packages.base']})${profiles} from ${loaded.private.includes('distribution.mirror') ? '(a private mirror)' : c['distribution.mirror']}` });
      const started = performance.now();
      const rebuild = opts.rebuild === true ? true : (opts.rebuild as StageName | undefined);
      const result = await build(loaded, { emit, dryRun: Boolean(opts.dryRun), debug: Boolean(opts.debug), rebuild });
      if (opts.dryRun) {
        process.stdout.write(formatPlan(result, c['output.format'], { config: c, imageDir: loaded.dir }));
        return;
      }
      emit({ kind: 'log', level: 'info', message: `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${result.outputs.join(', ')}` });
    });
}
