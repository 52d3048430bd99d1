import { Command } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { outputPath } from '../outputs/index.ts';
import { emulatorSource, planEmulation } from '../pipeline/emulation.ts';
import { runJob } from '../pipeline/enter.ts';
import { cacheDirectory } from '../pipeline/paths.ts';
import { UserError } from '../util/errors.ts';
import { createReporter } from './reporter.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function shellCommand() {
  return imageOptions(new Command('shell').description('a root shell (or COMMAND) inside the built tree, emulated when foreign'))
    .argument('[command...]', 'command to run instead of a shell')
    .passThroughOptions()
    .action(async (command, opts) => {
      const loaded = loadFromOptions(opts);
      const c = loaded.config;
      const dir = resolve(loaded.dir, c['output.directory']);
      const tree = findTree(dir, c['output.name'], c['output.format']);
      const machine = loaded.distribution.architectures[c['distribution.architecture']];
      const cache = cacheDirectory(c);
      const emit = createReporter({ tty: false, debug: Boolean(opts.debug) });
      const emulation = machine ? await planEmulation(machine, c['build.binfmt'], emulatorSource(loaded, cache, emit)) : undefined;
      const workDir = join(cache, 'work', `shell-${process.pid}`);
      await mkdir(workDir, { recursive: true });
      try {
        const argv = command.length ? command : ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi'];
        process.exitCode = await runJob({ kind: 'shell', tree, workDir, argv, emulation, network: c['build.network'], processLimit: c['build.process-limit'] }, { emit, interactive: true });
      } finally {
        await rm(workDir, { recursive: true, force: true }).catch(() => {});
      }
    });
}

function findTree(dir: string, name: string, formats: string[]): { directory: string } | { tar: string } {
  const ordered = ['directory', ...formats.filter((f) => f !== 'directory'), 'tar', 'tar.zst', 'tar.xz', 'tar.gz'];
  for (const format of ordered) {
    const path = outputPath(dir, name, format);
    if (!existsSync(path)) continue;
    return format === 'directory' ? { directory: path } : { tar: path };
  }
  throw new UserError(`no built image at ${outputPath(dir, name, formats[0] ?? 'tar')}`, 'run kiln build first (with the same -C and settings)');
}
