/**
 * The few error kinds kiln knows. The top-level handler in src/cli/program.ts
 * turns them into one line (plus a hint) and an exit code.
 */

/** A mistake the user can fix (config, package name, mirror, ids): exit 2. */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserError';
  }
}

/** The build itself failed (a maintainer script, a tool): exit 1. */
export class BuildError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BuildError';
  }
}

/** A child process that exited non-zero; keeps the last lines of its output. */
export class CommandError extends BuildError {
  constructor(
    readonly command: string,
    readonly status: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly tail: string[],
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
    super(`${command} ${how}`);
    this.name = 'CommandError';
  }
}
