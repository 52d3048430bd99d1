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
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { imageDir, integrationSkipReason, isRoot, kiln, type KilnResult } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { startHostileArchive, type HostileArchive, type HostilePackage } from '../helpers/hostile-debian.ts';
import { assertContained, DECOY, DECOY_REL, decoyDirs, dir, escapeAttempts, link, plantDecoy, removeDecoy, SECRET, startListener, UP, watchHome, type Listener } from '../helpers/hostile.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(
  integrationSkipReason() ??
  (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
  (isRoot ? undefined : "the corpus aims at the test user's home: run as root, with KILN_TEST_USER"),
);

/** Files kiln writes natively after the packages are in, each a symlink out (absolute or climbing). */
const LINKS: HostilePackage = {
  name: 'evil-links',
  data: [
    dir('./'), dir('./etc/'), dir('./etc/apt/'), dir('./etc/default/'), dir('./usr/'), dir('./usr/sbin/'), dir('./var/'), dir('./var/lib/'), dir('./var/lib/systemd/'),
    ...decoyDirs(),
    link('./etc/hostname', `${DECOY}/hostname`),
    link('./etc/hosts', `${UP}${DECOY_REL}/hosts`),
    link('./etc/apt/sources.list', `${DECOY}/sources.list`),
    link('./usr/sbin/policy-rc.d', `${DECOY}/policy-rc.d`),
    link('./etc/locale.conf', `${DECOY}/locale.conf`),
    link('./etc/default/locale', `${UP}${DECOY_REL}/locale`),
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
  control: { Package: `${UP}${DECOY_REL}/pwned` },
  data: [dir('./'), dir('./usr/'), dir('./usr/share/')],
};

/** A FIFO where kiln reads the license from. */
const FIFO: HostilePackage = {
  name: 'evil-fifo',
  data: [dir('./'), dir('./usr/'), dir('./usr/share/'), dir('./usr/share/doc/'), dir('./usr/share/doc/evil-fifo/'), { name: './usr/share/doc/evil-fifo/copyright', type: 'fifo' }],
};

/** The extractor's cases: each package tries one trick. */
const EXTRACT: HostilePackage[] = [
  { name: 'evil-dotdot', data: [dir('./'), { name: `./${UP}${DECOY_REL}/dotdot`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-absolute', data: [dir('./'), { name: `${DECOY}/absolute`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-hardlink', data: [dir('./'), dir('./etc/'), { name: './etc/evil-hard', type: 'hardlink', target: `${DECOY}/secret` }] },
  { name: 'evil-linkdir', data: [dir('./'), link('./evil-dir', DECOY), { name: './evil-dir/through', type: 'file', content: 'pwned\n' }] },
];

/** Maintainer scripts that reach for the host: its filesystem, the user's secret, kiln's cache, the network. */
function scriptsPackage(port: number): HostilePackage {
  const postinst = `#!/bin/sh\n${escapeAttempts(port, '/var/lib/kiln-hostile.log')}exit 0\n`;
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
  let listener: Listener;
  let work: string;

  before(async () => {
    listener = await startListener();
    work = imageDir();
    archive = await startHostileArchive(work, [LINKS, ACCOUNTS, STATUS, CONTROL_NAME, FIFO, ...EXTRACT, scriptsPackage(listener.port)]);
    chmodSync(archive.keyring, 0o644);
  });
  after(async () => {
    await archive?.close();
    await listener?.close();
    removeDecoy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function buildWith(c: Case): Promise<{ result: KilnResult; watch: ReturnType<typeof watchHome>; dir: string }> {
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
    const watch = watchHome();
    const result = await kiln(['build', '-C', dir, '--rebuild'], { timeoutMs: 15 * 60_000, onSpawn: watch.onSpawn });
    return { result, watch, dir };
  }

  const check = (label: string, c: Case, r: { result: KilnResult; watch: ReturnType<typeof watchHome> }) => assertContained(label, c.codes, r.result, r.watch, listener);

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
    check('links', c, r);
  });

  test('/etc/passwd and /etc/group as symlinks out, with [[user]] and [[group]]', async () => {
    const c: Case = { packages: ['evil-accounts'], toml: `[[group]]\nname = "gpio"\n\n[[user]]\nname = "pi"\ngroups = ["gpio"]\n`, codes: [0, 1, 2] };
    check('accounts', c, await buildWith(c));
  });

  test("dpkg's status file as a symlink out", async () => {
    const c: Case = { packages: ['evil-status'], codes: [0, 1, 2] };
    check('status', c, await buildWith(c));
  });

  test('a control Package: field that climbs out of /var/lib/dpkg/info is refused before anything is written', async () => {
    const c: Case = { packages: ['evil-name'], codes: [1, 2] };
    const r = await buildWith(c);
    check('control name', c, r);
    assert.match(r.result.stderr, /evil-name/);
  });

  test('a FIFO as the copyright file does not hang the build', async () => {
    const c: Case = { packages: ['evil-fifo'], codes: [0] };
    const r = await buildWith(c);
    check('fifo', c, r);
  });

  for (const p of EXTRACT) {
    test(`archive paths: ${p.name} is refused or confined`, async () => {
      const c: Case = { packages: [p.name], codes: [0, 1, 2] };
      check(p.name, c, await buildWith(c));
    });
  }

  test('maintainer scripts see only the tree: no host filesystem through /proc, no double chroot, no secret, no network', async () => {
    const c: Case = { packages: ['evil-scripts'], codes: [0] };
    const r = await buildWith(c);
    check('scripts', c, r);
    const log = fromImage(r.dir, 'var/lib/kiln-hostile.log') ?? '';
    assert.ok(log.includes('proc-root: denied'), `the script log: ${log}`);
    assert.doesNotMatch(log, /ESCAPED/, `the script log: ${log}`);
    assert.ok(!(fromImage(r.dir, 'var/lib/kiln-hostile.log-secret') ?? '').includes(SECRET), 'the secret reached the image');
  });
});
