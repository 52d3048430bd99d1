/**
 * kiln's command line. Every verb is a thin layer over the library; this file
 * also owns the one top-level error handler.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { workerMain } from '../pipeline/worker.ts';
import { BuildError, CommandError, UserError } from '../util/errors.ts';
import { buildCommand } from './build.ts';
import { configCommand } from './config.ts';
import { shellCommand } from './shell.ts';
import { doctorCommand } from './doctor.ts';
import { cacheCommand } from './cache.ts';
import { inspectCommand } from './inspect.ts';

import { VERSION } from '../version.ts';
import { loadConfig, settingsHelp, type LoadedConfig } from '../config/index.ts';
import { resolve } from 'node:path';

let debug = process.argv.includes('--debug');

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

async function main(argv: string[]): Promise<number> {
  if (argv[2] === '__worker') return workerMain();
  const program = new Command()
    .name('kiln')
    .description('Build Linux root filesystems and images, rootless and for any architecture')
    .version(VERSION)
    .enablePositionalOptions()
    .showHelpAfterError('(run kiln help for the commands and their options)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.addCommand(buildCommand());
  program.addCommand(configCommand());
  program.addCommand(shellCommand());
  program.addCommand(doctorCommand());
  program.addCommand(cacheCommand());
  program.addCommand(inspectCommand());
  program.addOption(new Option('--debug').hideHelp());
  // addCommand() does not pass settings down: every verb reports usage errors through the handler below.
  const overrideAll = (cmd: Command<any, any, any>): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
      overrideAll(sub as Command<any, any, any>);
    }
  };
  overrideAll(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

function report(err: unknown): number {
  if (err instanceof UserError || err instanceof BuildError) {
    process.stderr.write(`kiln: error: ${err.message}\n`);
    if (err instanceof CommandError && err.tail.length) {
      process.stderr.write(err.tail.map((l) => `  | ${l}`).join('\n') + '\n');
    }
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`kiln: internal error: ${e?.message ?? String(err)}\n`);
  if (debug) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('hint: run again with --debug for a stack trace, and report it\n');
  return 1;
}

export function setDebug(value: boolean): void {
  debug = value;
}

// The event loop ran dry before the command finished: a bug (an awaited promise nothing will settle). Never exit 0 for it.
process.once('beforeExit', () => process.exit(report(new Error('kiln stopped with work still pending (nothing left to wait for)'))));

main(process.argv).then(
  (code) => process.exit(code),
  (err) => process.exit(report(err)),
);
