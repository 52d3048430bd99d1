/**
 * What the hostile-package tests of every format share: the decoy in the
 * test user's home that crafted packages aim at, a listener on 127.0.0.1
 * that no script may reach, and the check made after every build (host
 * unchanged, no connection, nothing in kiln's cache, one clear line on a
 * refusal).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TEST_USER, type KilnResult } from './kiln.ts';
import { processGroup, watchHost, type HostWatch, type ProcessGroup } from './host-watch.ts';
import type { TarSpecEntry } from './hostile-debian.ts';

export const HOME = `/home/${TEST_USER}`;
export const DECOY = `${HOME}/kiln-decoy`;
export const CACHE = `${HOME}/.cache/kiln`;
export const SECRET = 'kiln-decoy-secret-7f3a';
/** What an escaped script would leave in kiln's cache. */
const CACHE_MARKER = `${CACHE}/pwned-proc-root`;
/** Far more `..` than any build tree is deep: climbing stops at /. */
export const UP = '../'.repeat(24);
/** The decoy's path without its leading slash, to follow UP. */
export const DECOY_REL = DECOY.slice(1);

export const dir = (name: string): TarSpecEntry => ({ name, type: 'dir' });
export const link = (name: string, target: string): TarSpecEntry => ({ name, type: 'symlink', target });
/**
 * The decoy's own directories, shipped inside the tree too: in-tree tools
 * then find a place to write, and only a native write that leaves the tree
 * would touch the host.
 */
export const decoyDirs = (): TarSpecEntry[] => ['./home/', `.${HOME}/`, `.${DECOY}/`, `.${DECOY}/dbus/`, `.${DECOY}/urandom/`].map(dir);

const DECOY_FILES = ['hostname', 'hosts', 'sources.list', 'policy-rc.d', 'locale.conf', 'locale', 'vconsole.conf', 'machine-id', 'random-seed', 'passwd', 'group', 'status', 'pacman.conf', 'mirrorlist', 'dbus/machine-id', 'urandom/seed'];

/** A fresh decoy: a file for every name the packages aim at, a 0600 secret, directories. */
export function plantDecoy(): void {
  rmSync(DECOY, { recursive: true, force: true });
  rmSync(CACHE_MARKER, { force: true });
  mkdirSync(`${DECOY}/dbus`, { recursive: true });
  mkdirSync(`${DECOY}/urandom`, { recursive: true });
  for (const name of DECOY_FILES) writeFileSync(join(DECOY, name), `decoy ${name}\n`);
  writeFileSync(join(DECOY, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  spawnSync('chown', ['-R', `${TEST_USER}:`, DECOY]);
}

export function removeDecoy(): void {
  rmSync(DECOY, { recursive: true, force: true });
}

/**
 * Starts watching the test user's home (kiln's cache aside: builds write
 * there) and one build's processes: pass `onSpawn` to kiln() so the build
 * joins its control group; call `done` once the checks are made.
 */
export function watchHome(): HostWatch & { onSpawn(pid: number): void; done(): void } {
  const group: ProcessGroup | undefined = processGroup('kiln-hostile');
  const watch = watchHost({ dirs: [HOME], skip: [`${HOME}/.cache`, `${HOME}/.npm`], user: TEST_USER, group });
  return { ...watch, onSpawn: (pid) => group?.add(pid), done: () => group?.remove() };
}

export interface Listener {
  port: number;
  connections: string[];
  close(): Promise<void>;
}

/** A TCP listener on 127.0.0.1 that records every connection. */
export async function startListener(): Promise<Listener> {
  const connections: string[] = [];
  const server = createServer((socket) => {
    connections.push(`connection from ${socket.remoteAddress}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The check after every hostile build: nothing outside changed, and a refusal is one clear line. */
export function assertContained(label: string, codes: number[], result: KilnResult, watch: HostWatch & { done?(): void }, listener: Listener): void {
  const changes = watch.changes();
  watch.done?.();
  const out = `\n--- stdout\n${result.stdout.slice(-3000)}\n--- stderr\n${result.stderr.slice(-3000)}`;
  assert.deepEqual(changes, [], `${label}: the host changed${out}`);
  assert.deepEqual(listener.connections, [], `${label}: a script reached 127.0.0.1${out}`);
  assert.ok(!existsSync(CACHE_MARKER), `${label}: a script wrote into kiln's cache`);
  assert.ok(codes.includes(result.code), `${label}: exit status ${result.code}, expected one of ${codes.join(', ')}${out}`);
  if (result.code !== 0) {
    assert.doesNotMatch(result.stderr, /^\s+at /m, `${label}: a stack trace instead of one line${out}`);
    assert.match(result.stderr, /error/i, `${label}: no error line${out}`);
  }
}

/**
 * A script (for a maintainer script or a pacman scriptlet) that reaches for
 * the host: its filesystem through /proc, a double chroot, the decoy
 * secret, kiln's cache, the listener. Each attempt is logged as "NAME:
 * denied" or "NAME: ESCAPED" in `log`; the script itself always succeeds.
 */
export function escapeAttempts(port: number, log: string): string {
  return `log=${log}
try() { if sh -c "$2" >/dev/null 2>&1; then echo "$1: ESCAPED" >> $log; else echo "$1: denied" >> $log; fi; }
try proc-root 'echo pwned > /proc/1/root${DECOY}/proc-root'
try proc-root-cache 'echo pwned > /proc/1/root${CACHE_MARKER}'
for p in /proc/[0-9]*; do try "proc-any-root-\${p#/proc/}" "test -e $p/root${DECOY}/secret"; done
try proc-secret 'cat /proc/1/root${DECOY}/secret > ${log}-secret'
try double-chroot "perl -e 'mkdir \\"/x\\"; chroot \\"/x\\" or die; chdir \\"..\\" for 1..64; chroot \\".\\" or die; exit(system(\\"/bin/sh\\", \\"-c\\", \\"test -e ${DECOY}/secret && echo pwned > ${DECOY}/double-chroot\\") ? 1 : 0)'"
try network "bash -c 'echo kiln-hostile > /dev/tcp/127.0.0.1/${port}'"
`;
}
