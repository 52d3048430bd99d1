/**
 * What a script inside the tree can reach: a real Debian image whose
 * `.chroot` hooks (run through the same sandbox as maintainer scripts) try
 * the classic ways out, one hook per attack, each writing its verdict into
 * /verdicts in the tree: the other processes' /proc/N/root, a double chroot,
 * a decoy secret in the user's home, kiln's cache, the image directory, a
 * listener on the host's 127.0.0.1, filling /run and /dev/shm; and, in a
 * second build, a fork bomb, which must fail the build in one line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));
const home = isRoot ? `/home/${TEST_USER}` : (process.env.HOME ?? '/tmp');
const DECOY = join(home, `kiln-sandbox-decoy-${process.pid}`);
const CACHE = join(home, '.cache/kiln');

const hook = (name: string, run: string, chroot = true) => `
[[hook]]
stage = "customize"
name = "${name}"
chroot = ${chroot}
run = '''
${run}
'''
`;

/** Everything that must not be reachable from PATH_PREFIX (a process's root, or an escaped chroot's). */
const probes = (prefix: string, who: string, out: string) => `
  [ ! -r "${prefix}${DECOY}" ] || echo "${who}: the decoy secret is readable" >> ${out}
  [ ! -e "${prefix}${home}" ] || echo "${who}: the home directory is visible" >> ${out}
  [ ! -e "${prefix}${CACHE}" ] || echo "${who}: the kiln cache is visible" >> ${out}
  ! touch "${prefix}${CACHE}/sandbox-probe" 2>/dev/null || echo "${who}: the kiln cache is writable" >> ${out}
  [ ! -e "${prefix}$KILN_IMAGE_DIR/kiln.toml" ] || echo "${who}: the image directory is visible" >> ${out}`;

const ATTACKS = (port: number) => [
  hook(
    '10-proc-root',
    `mkdir -p /verdicts; v=/verdicts/proc-root; : > $v
[ -e /proc/1/root/verdicts ] && echo "pid 1: the tree" >> $v || echo "pid 1: not the tree" >> $v
for p in /proc/[0-9]*; do
  lines=$( ( v=/dev/stdout; ${probes('$p/root', '$p', '$v')}
  ) 2>/dev/null || true)
  # A process that ended while we looked has no root to judge.
  if [ -n "$lines" ] && [ -e "$p/stat" ]; then echo "$lines" >> $v; fi
done`,
  ),
  hook(
    '20-double-chroot',
    `echo "escaped (see the build log)" > /verdicts/double-chroot
perl -e 'mkdir "/kiln-jail"; chroot "/kiln-jail" or die "chroot: $!\\n"; chdir ".." for 1 .. 64; chroot "." or die "chroot: $!\\n"; exec "/bin/sh", "-c", $ARGV[0]' '
  v=/verdicts/double-chroot
  [ -e /verdicts ] && echo "ended in the tree" > $v || { echo "ended outside the tree" >&2; v=/dev/stderr; }
  ${probes('', 'escaped chroot', '$v')}
  exit 0'
rmdir /kiln-jail`,
  ),
  hook('30-network', `bash -c 'echo knock > /dev/tcp/127.0.0.1/${port}' 2>/dev/null && echo connected > /verdicts/network || echo "no connection" > /verdicts/network`),
  hook(
    '40-fill-tmpfs',
    `for d in /run /dev/shm; do
  dd if=/dev/zero of=$d/kiln-fill bs=1M count=1024 2>/dev/null || true
  echo "$d $(du -m $d/kiln-fill | cut -f1)" >> /verdicts/tmpfs; rm -f $d/kiln-fill
done`,
  ),
];

const TOML = (mirrorUrl: string, extra: string, hooks: string[]) => `[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"
mirror = "${mirrorUrl}"

[output]
format = ["directory"]

[build]
${extra}
${hooks.join('')}`;

/** A TCP listener on 127.0.0.1 that records what it is sent. */
async function listener(): Promise<{ server: Server; port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => received.push(text));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, received };
}

describe('package scripts see only their tree', { skip }, () => {
  const listeners: Server[] = [];
  before(() => {
    writeFileSync(DECOY, 'the user\'s secret\n', { mode: 0o600 });
    if (isRoot) spawnSync('chown', [`${TEST_USER}:`, DECOY]);
  });
  after(() => {
    rmSync(DECOY, { force: true });
    rmSync(join(CACHE, 'sandbox-probe'), { force: true });
    for (const server of listeners) server.close();
  });
  const listen = async () => {
    const net = await listener();
    listeners.push(net.server);
    return net;
  };

  test('no way out: /proc/N/root, a double chroot, the user\'s files, kiln\'s cache, the host\'s 127.0.0.1; /run and /dev/shm are bounded', async () => {
    const net = await listen();
    const dir = imageDir(TOML(mirror as string, '', ATTACKS(net.port)));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const verdicts = join(dir, 'out/image/verdicts');
    const read = (name: string) => (existsSync(join(verdicts, name)) ? readFileSync(join(verdicts, name), 'utf8') : '(no verdict)');
    const sizes = Object.fromEntries(read('tmpfs').trim().split('\n').map((l) => l.split(' ')));
    const bounded = (d: string) => (Number(sizes[d]) > 0 && Number(sizes[d]) <= 256 ? 'at most 256 MB' : `${sizes[d]} MB written`);
    // All verdicts at once, so that a failure shows every way out that is open.
    assert.deepEqual(
      {
        procRoot: read('proc-root'),
        doubleChroot: read('double-chroot'),
        cacheWritten: existsSync(join(CACHE, 'sandbox-probe')),
        network: read('network'),
        listenerGot: net.received,
        run: bounded('/run'),
        shm: bounded('/dev/shm'),
      },
      {
        procRoot: 'pid 1: the tree\n',
        doubleChroot: 'ended in the tree\n',
        cacheWritten: false,
        network: 'no connection\n',
        listenerGot: [],
        run: 'at most 256 MB',
        shm: 'at most 256 MB',
      },
    );
  });

  test('build.network = true keeps the host network; a fork bomb is contained and fails the build in one line', async () => {
    const net = await listen();
    const bomb = hook('50-fork-bomb', 'i=0; while [ $i -lt 10000 ]; do sleep 6543 & i=$((i + 1)); done; echo "forked $i"');
    const network = hook('30-network', `bash -c 'echo knock > /dev/tcp/127.0.0.1/${net.port}'`);
    const dir = imageDir(TOML(mirror as string, 'network = true', [network, bomb]));
    const r = await kiln(['build', '-C', dir], { timeoutMs: 20 * 60_000 });
    assert.deepEqual(net.received, ['knock\n'], 'with build.network = true the listener got the connection');
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => /^kiln: error:/.test(l));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0] as string, /hook customize\/50-fork-bomb/);
    assert.match(r.stderr, /[Cc]annot fork|Resource temporarily unavailable/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(r.stderr, /forked 10000/);
    assert.equal(spawnSync('pgrep', ['-f', 'sleep 6543']).status, 1, 'no process of the bomb is left');
  });
});
