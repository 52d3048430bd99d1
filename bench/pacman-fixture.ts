/**
 * The pacman comparison's repositories: test/helpers/fake-arch.ts's signed
 * fixture (Debian binaries repackaged, indexed with repo-add), served on
 * 127.0.0.1 by bench/arch-mirror.ts in a child process, which says after each
 * run which files were asked for.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Served {
  mirror: string;
  path: string;
  status: number;
}

export interface FixtureMirror {
  /** Base URL per served root's name. */
  urls: Record<string, string>;
  /** The requests served since the previous call (or since the start). */
  take(): Promise<Served[]>;
  close(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./arch-mirror.ts', import.meta.url));

/** Serves each `roots` directory on a port of its own. */
export function serveFixture(roots: Record<string, string>): Promise<FixtureMirror> {
  // The bench runs under tsx (node --import tsx): the child inherits that.
  const child = spawn(process.execPath, [...process.execArgv, SERVER, ...Object.entries(roots).map(([name, dir]) => `${name}=${dir}`)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void }[] = [];
  let stopped: Error | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      stopped = new Error(`the fixture mirror stopped (${signal ?? `exit ${code}`})`);
      for (const w of waiting.splice(0)) w.reject(stopped);
      resolve();
    }),
  );
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  const next = () => new Promise<string>((resolve, reject) => (stopped ? reject(stopped) : waiting.push({ resolve, reject })));
  return next().then((first) => {
    const { ready } = JSON.parse(first) as { ready: Record<string, string> };
    return {
      urls: ready,
      take: async () => {
        const answer = next();
        child.stdin.write('\n');
        return (JSON.parse(await answer) as { requests: Served[] }).requests;
      },
      close: async () => {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      },
    };
  });
}
