/**
 * A private apt-cacher-ng on 127.0.0.1, with its own (empty) configuration
 * directory, cache and logs in a temporary directory. The system's
 * configuration is not read: its Remap rules would send requests for the
 * host's mirror to other mirrors. Requests use the "proxy by URL path" form,
 * http://127.0.0.1:PORT/<host>/<path>, so that only the host's mirror is asked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Proxy {
  port: number;
  /** The host mirror's URL rewritten to go through the proxy. */
  urlFor(mirror: string): string;
  /** Whether the daemon is still running; if not, why it stopped. */
  alive(): boolean;
  exitReason(): string;
  /** Starts it again on the same port and cache (after something killed it). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that is free on 127.0.0.1 right now, below 32768: apt-cacher-ng
 * 3.7 formats its port as a signed 16-bit number, so higher ports fail to bind.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free TCP port on 127.0.0.1 between 20000 and 32000');
}

async function waitForHttp(port: number, child: ChildProcess, logDir: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      // Any HTTP answer (even 404 for the root) means the daemon is serving.
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let log = '';
  try {
    log = readFileSync(join(logDir, 'apt-cacher.err'), 'utf8').slice(-2000);
  } catch {
    /* no log yet */
  }
  throw new Error(`apt-cacher-ng did not start on 127.0.0.1:${port} (exit ${child.exitCode})\n${log}`);
}

/**
 * Starts apt-cacher-ng in the foreground (as a child of this process), under
 * `dir`. It runs from a copy of the binary: `service apt-cacher-ng stop` (as
 * in .ci/run) stops every process whose executable is /usr/sbin/apt-cacher-ng.
 */
export async function startProxy(dir: string): Promise<Proxy> {
  const confDir = join(dir, 'conf');
  const cacheDir = join(dir, 'cache');
  const logDir = join(dir, 'log');
  for (const d of [confDir, cacheDir, logDir]) mkdirSync(d, { recursive: true });
  chmodSync(dir, 0o755);
  const binary = join(dir, 'apt-cacher-ng');
  copyFileSync('/usr/sbin/apt-cacher-ng', binary);
  chmodSync(binary, 0o755);
  const port = await freePort();
  const settings: Record<string, string> = {
    ForeGround: '1',
    Port: String(port),
    BindAddress: '127.0.0.1',
    CacheDir: cacheDir,
    LogDir: logDir,
    SupportDir: '/usr/lib/apt-cacher-ng',
    SocketPath: join(dir, 'socket'),
    PidFile: join(dir, 'pid'),
    ReportPage: '',
  };
  // An (almost) empty config dir: nothing from /etc/apt-cacher-ng, no Remap rules.
  writeFileSync(join(confDir, 'acng.conf'), Object.entries(settings).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
  const args = ['-c', confDir, ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
  let child: ChildProcess;
  let stopping = false;

  const launch = async (): Promise<void> => {
    const c = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
    c.once('error', (err) => (stderr += String(err)));
    c.once('exit', (code, signal) => {
      if (!stopping) console.error(`bench: apt-cacher-ng exited unexpectedly (${signal ?? `exit ${code}`}) ${stderr.trim()}`);
    });
    try {
      await waitForHttp(port, c, logDir);
    } catch (err) {
      c.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  };
  await launch();

  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    urlFor: (mirror) => {
      const url = new URL(mirror);
      if (url.protocol !== 'http:') throw new Error(`the host mirror ${mirror} is not plain http; apt-cacher-ng cannot cache it`);
      return `http://127.0.0.1:${port}/${url.host}${url.pathname.replace(/\/+$/, '')}`;
    },
    alive: running,
    exitReason: () => (running() ? 'running' : `stopped by ${child.signalCode ?? `exit ${child.exitCode}`}`),
    restart: () => (running() ? Promise.resolve() : launch()),
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        if (!running()) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
