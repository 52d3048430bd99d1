import { Command } from '@commander-js/extra-typings';
import { lockImage } from '../lock/index.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';
import { createReporter } from './reporter.ts';

export function lockCommand() {
  return imageOptions(new Command('lock').description('resolve the image\'s exact package set and write it into kiln.lock beside kiln.toml (kiln build then installs exactly it)'))
    .option('-u, --update', 'resolve again even when kiln.lock still matches the configuration (take the mirror\'s newer versions)')
    .action(async (opts) => {
      const loaded = loadFromOptions(opts);
      const emit = createReporter({ tty: Boolean(process.stderr.isTTY), debug: Boolean(opts.debug) });
      const result = await lockImage(loaded, { update: Boolean(opts.update), emit });
      const what = { added: 'locked', updated: 'updated', unchanged: 'up to date:' }[result.change];
      emit({ kind: 'log', level: 'info', message: `${result.path}: ${result.image.id} ${what} ${result.image.packages.length} packages (${result.image.configDigest.slice(0, 19)})` });
    });
}
