/**
 * Running the kiln CLI in integration tests the way a user would: as an
 * unprivileged user with subordinate ids. When the tests run as root (CI),
 * kiln runs as KILN_TEST_USER (default kilntest) through runuser, from a
 * copy of the bundle in a directory that user can read.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const TEST_USER = process.env.KILN_TEST_USER || 'kilntest';
export const isRoot = process.getuid?.() === 0;

/** Why integration tests cannot run here, or undefined when they can. */
export function integrationSkipReason(): string | undefined {
  if (!existsSync(join(repo, 'dist/kiln.mjs'))) return 'dist/kiln.mjs missing: run npm run build';
  if (isRoot && spawnSync('id', [TEST_USER]).status !== 0) return `test user ${TEST_USER} does not exist (.ci/run creates it)`;
  return undefined;
}

let bundleDir: string | undefined;
/** The copy of dist/kiln.mjs this test process runs (its own: a worker's command line names it, so a test can tell its workers from other builds'). */
export function bundle(): string {
  if (!bundleDir) {
    bundleDir = mkdtempSync(join(tmpdir(), 'kiln-bin-'));
    chmodSync(bundleDir, 0o755);
    copyFileSync(join(repo, 'dist/kiln.mjs'), join(bundleDir, 'kiln.mjs'));
    chmodSync(join(bundleDir, 'kiln.mjs'), 0o755);
    // The bundle's one run-time dependency that cannot be bundled: a prebuilt native module.
    cpSync(join(repo, 'node_modules/@napi-rs'), join(bundleDir, 'node_modules/@napi-rs'), { recursive: true });
    spawnSync('chmod', ['-R', 'a+rX', bundleDir]);
    process.on('exit', () => rmSync(bundleDir as string, { recursive: true, force: true }));
  }
  return join(bundleDir, 'kiln.mjs');
}

const imageDirs: string[] = [];

/** Removes the image directories this test process made (built images are large; they must not pile up in /tmp). */
function removeImageDirs(): void {
  if (process.env.KILN_KEEP_TEST_TMP === '1') return;
  for (const dir of imageDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A tree with subordinate-id owned read-only directories, made without root: the run's TMPDIR goes with it (scripts/test.mjs).
    }
  }
}

/** A fresh directory the test user owns, for an image definition and its outputs; removed when the test process exits. */
export function imageDir(toml?: string, owner = TEST_USER): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-it-'));
  if (imageDirs.length === 0) process.on('exit', removeImageDirs);
  imageDirs.push(dir);
  chmodSync(dir, 0o755);
  if (toml !== undefined) writeFileSync(join(dir, 'kiln.toml'), toml);
  if (isRoot) spawnSync('chown', ['-R', `${owner}:`, dir]);
  return dir;
}

/** A TCP port on 127.0.0.1 that nothing listens on (and that fetch does not refuse to use). */
export async function unusedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface KilnResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KilnRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Run as this user instead of the test user (root only). */
  user?: string;
  /** Called once the process started (e.g. to send it a signal). */
  onSpawn?: (pid: number) => void;
  timeoutMs?: number;
  /** The umask kiln starts with (octal, e.g. "077"); default: the test's own. */
  umask?: string;
  /** A command that runs kiln (e.g. /usr/bin/time -o FILE), put before it. */
  wrap?: string[];
}

/** Runs `kiln ARGS` with a clean environment; resolves with status and output. */
export function kiln(args: string[], opts: KilnRunOptions = {}): Promise<KilnResult> {
  const user = opts.user ?? TEST_USER;
  const home = isRoot ? (user === 'root' ? '/root' : `/home/${user}`) : (process.env.HOME ?? '/tmp');
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, LANG: 'C.UTF-8', ...opts.env };
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const withUmask = opts.umask === undefined ? [] : ['sh', '-c', 'umask "$0" && exec "$@"', opts.umask];
  const run = [...withUmask, ...(opts.wrap ?? []), 'env', '-i', ...envArgs, process.execPath, bundle(), ...args];
  const command = isRoot && user !== 'root' ? 'runuser' : (run[0] as string);
  const argv = isRoot && user !== 'root' ? ['-u', user, '--', ...run] : run.slice(1);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { cwd: opts.cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (child.pid) opts.onSpawn?.(child.pid);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15 * 60_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Writes a file into an image directory (owned by the test user). */
export function writeAs(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  if (isRoot) spawnSync('chown', [`${TEST_USER}:`, path]);
}
