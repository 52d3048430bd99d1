/**
 * The options of every verb that reads an image definition, and the merged
 * configuration they describe. Kept apart from main.ts, which runs the CLI
 * when it is loaded: a verb imports these without starting a second CLI.
 */
import type { Command } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { loadConfig, settingsHelp, type LoadedConfig } from '../config/index.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options every verb that reads an image definition takes. */
export function imageOptions<T extends Command<[], {}>>(cmd: T) {
  return cmd
    .option('-C, --directory <dir>', 'image directory holding kiln.toml', '.')
    .option('--set <key=value>', 'override a setting (repeatable); KEY+=ITEMS and KEY-=ITEMS add to and remove from a list', collect, [] as string[])
    .option('-p, --profile <name>', 'apply profiles/NAME.toml (repeatable, in order)', collect, [] as string[])
    .option('--private <file>', 'the private layer (credentials, key paths; never printed or stored)')
    .option('-b, --board <name>', 'shorthand for --set board.name=NAME')
    .option('-d, --distribution <name>', 'shorthand for --set distribution.name=NAME')
    .option('-r, --release <name>', 'shorthand for --set distribution.release=NAME')
    .option('-a, --arch <arch>', 'shorthand for --set distribution.architecture=ARCH')
    .option('--debug', 'show debug output and stack traces')
    .addHelpText('after', settingsHelp());
}

interface ImageOptions {
  directory: string;
  set: string[];
  profile: string[];
  private?: string;
  distribution?: string;
  release?: string;
  arch?: string;
  board?: string;
}

/** The merged configuration the image options describe. */
export function loadFromOptions(opts: ImageOptions): LoadedConfig {
  const sets: string[] = [];
  if (opts.distribution) sets.push(`distribution.name=${opts.distribution}`);
  if (opts.release) sets.push(`distribution.release=${opts.release}`);
  if (opts.arch) sets.push(`distribution.architecture=${opts.arch}`);
  if (opts.board) sets.push(`board.name=${opts.board}`);
  return loadConfig({ dir: resolve(opts.directory), sets: [...sets, ...opts.set], profiles: opts.profile.flatMap((p) => p.split(',')).filter(Boolean), privateFile: opts.private });
}
