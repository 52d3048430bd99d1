/** Running a host tool and failing with its last lines of output. */
import { spawn } from 'node:child_process';
import { CommandError } from './errors.ts';

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs `command args`, resolves with stdout; a non-zero exit is a CommandError with the output's tail. */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (status, signal) => {
      const stdout = Buffer.concat(out).toString();
      if (status === 0) return resolve(stdout);
      const tail = (Buffer.concat(err).toString() + stdout).trim().split('\n').slice(-15);
      reject(new CommandError([command, ...args].join(' '), status, signal, tail));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
  });
}
