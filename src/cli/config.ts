import { Command } from '@commander-js/extra-typings';
import { configToJson, formatConfig } from '../config/index.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function configCommand() {
  return imageOptions(new Command('config').description('print the merged configuration and where each value comes from'))
    .option('--json', 'print JSON for tools')
    .action((opts) => {
      const loaded = loadFromOptions(opts);
      process.stdout.write(opts.json ? JSON.stringify(configToJson(loaded), null, 2) + '\n' : formatConfig(loaded));
    });
}
