/**
 * kiln's command line as a function: the verbs, commander's usage errors
 * turned into exit codes, and the one top-level error handler. Loading this
 * file runs nothing; src/cli/main.ts is the entry point that does.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { workerMain } from '../pipeline/worker.ts';
import { BuildError, CommandError, UserError } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { bootCommand } from './boot.ts';
import { buildCommand } from './build.ts';
import { cacheCommand } from './cache.ts';
import { configCommand } from './config.ts';
import { diffCommand } from './diff.ts';
import { doctorCommand } from './doctor.ts';
import { inspectCommand } from './inspect.ts';
import { lockCommand } from './lock.ts';
import { shellCommand } from './shell.ts';

/** Runs the command line `argv` (as process.argv: node, script, then the arguments); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
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
  program.addCommand(bootCommand());
  program.addCommand(doctorCommand());
  program.addCommand(cacheCommand());
  program.addCommand(inspectCommand());
  program.addCommand(diffCommand());
  program.addCommand(lockCommand());
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

/** Prints `err` the way its kind asks (one line and a hint; a stack only with `debug`); returns the exit code. */
export function reportError(err: unknown, debug: boolean): number {
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
