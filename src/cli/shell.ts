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
import { keepLayer, pendingLayer, stageCheckpoint } from './shell-stage.ts';
import { CHECKPOINTED } from '../pipeline/stages.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function shellCommand() {
  return imageOptions(new Command('shell').description('a root shell (or COMMAND) inside the built tree, emulated when foreign'))
    .argument('[command...]', 'command to run instead of a shell')
    .option('--stage <stage>', `the tree as it was after STAGE (${CHECKPOINTED.join(', ')}), from its checkpoint, in a throw-away copy`)
    .option('--save [name]', 'with --stage: keep what changed as overlays/NAME.tar (default shell-HASH), added to overlay.layers by a kiln.conf.d drop-in')
    .passThroughOptions()
    .action(async (command, opts) => {
      const loaded = loadFromOptions(opts);
      const c = loaded.config;
      const dir = resolve(loaded.dir, c['output.directory']);
      const cache = cacheDirectory(c);
      const emit = createReporter({ tty: false, debug: Boolean(opts.debug) });
      if (opts.save !== undefined && !opts.stage) throw new UserError('--save needs --stage', 'e.g. kiln shell --stage configure --save');
      const staged = opts.stage ? await stageCheckpoint(loaded, opts.stage, cache, emit) : undefined;
      const tree = staged ? { checkpoint: staged.checkpoint } : findTree(dir, c['output.name'], c['output.format']);
      const saveName = typeof opts.save === 'string' ? opts.save : undefined;
      const pending = opts.save !== undefined ? pendingLayer(loaded.dir) : undefined;
      const save = pending && staged ? { path: pending, sourceDateEpoch: staged.sourceDateEpoch } : undefined;
      const machine = loaded.distribution.architectures[c['distribution.architecture']];
      const emulation = machine ? await planEmulation(machine, c['build.binfmt'], emulatorSource(loaded, cache, emit)) : undefined;
      const workDir = join(cache, 'work', `shell-${process.pid}`);
      await mkdir(workDir, { recursive: true });
      try {
        const argv = command.length ? command : ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi'];
        process.exitCode = await runJob({ kind: 'shell', tree, save, workDir, argv, emulation, network: c['build.network'], processLimit: c['build.process-limit'] }, { emit, interactive: true });
        if (save) process.stderr.write(`kiln: ${keepLayer(loaded.dir, save.path, saveName) ?? 'the shell changed nothing: nothing saved'}\n`);
      } finally {
        await rm(workDir, { recursive: true, force: true }).catch(() => {});
        if (save) await rm(save.path, { force: true }).catch(() => {});
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
