/**
 * The hostile-package corpus, pacman side: builds of the fake Arch
 * repositories (test/helpers/fake-arch.ts) with a signed third-party
 * repository of crafted packages (test/helpers/hostile-arch.ts), run as the
 * unprivileged user, with the host checked after every build as in the deb
 * corpus: symlinks at the files kiln writes, a .PKGINFO name that is not
 * the database's and climbs out of the local database, archive paths that
 * climb out, and an .INSTALL scriptlet that reaches for the host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, type KilnResult } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { makeHostilePacmanRepo, type HostilePacmanPackage } from '../helpers/hostile-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { assertContained, DECOY, DECOY_REL, decoyDirs, dir, escapeAttempts, link, plantDecoy, removeDecoy, SECRET, startListener, UP, watchHome, type Listener } from '../helpers/hostile.ts';

const skip = skipOrFail(
  integrationSkipReason() ??
  fakeArchSkipReason(['x86_64']) ??
  (isRoot ? undefined : "the corpus aims at the test user's home: run as root, with KILN_TEST_USER"),
);

/** Files kiln writes natively after the packages are in, each a symlink out. */
const LINKS: HostilePacmanPackage = {
  name: 'evil-links',
  data: [
    dir('etc/'), dir('etc/pacman.d/'), ...decoyDirs().map((e) => ({ ...e, name: e.name.replace(/^\.\//, '') })),
    link('etc/hostname', `${DECOY}/hostname`),
    link('etc/pacman.conf', `${UP}${DECOY_REL}/pacman.conf`),
    link('etc/pacman.d/mirrorlist', `${DECOY}/mirrorlist`),
    link('etc/locale.conf', `${DECOY}/locale.conf`),
    link('etc/vconsole.conf', `${DECOY}/vconsole.conf`),
    link('etc/machine-id', `${DECOY}/machine-id`),
  ],
};

/** A .PKGINFO pkgname that is not the database's, and climbs out of /var/lib/pacman/local. */
const PKGINFO_NAME: HostilePacmanPackage = {
  name: 'evil-name',
  pkginfo: { pkgname: `${UP}${DECOY_REL}/pwned` },
  data: [dir('usr/'), dir('usr/share/'), { name: 'usr/share/evil-name', type: 'file', content: 'evil\n' }],
};

const EXTRACT: HostilePacmanPackage[] = [
  { name: 'evil-dotdot', data: [{ name: `${UP}${DECOY_REL}/dotdot`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-absolute', data: [{ name: `${DECOY}/absolute`, type: 'file', content: 'pwned\n' }] },
  { name: 'evil-hardlink', data: [dir('etc/'), { name: 'etc/evil-hard', type: 'hardlink', target: `${DECOY}/secret` }] },
  { name: 'evil-linkdir', data: [link('evil-dir', DECOY), { name: 'evil-dir/through', type: 'file', content: 'pwned\n' }] },
];

function scriptletPackage(port: number): HostilePacmanPackage {
  return {
    name: 'evil-scriptlet',
    depends: ['bash'],
    install: `post_install() {\n${escapeAttempts(port, '/var/lib/kiln-hostile.log')}}\n`,
    data: [dir('var/'), dir('var/log/')],
  };
}

describe('hostile pacman packages', { skip }, () => {
  let mirror: Mirror;
  let listener: Listener;
  let keyring: string;

  before(async () => {
    listener = await startListener();
    const fixture = mkdtempSync(join(tmpdir(), 'kiln-hostile-arch-'));
    const repos = await makeFakeArchRepos(fixture, { architectures: ['x86_64'] });
    await makeHostilePacmanRepo(repos.root, join(fixture, 'keys'), [LINKS, PKGINFO_NAME, ...EXTRACT, scriptletPackage(listener.port)]);
    mirror = await startMirror(repos.root);
    keyring = readableKeyring(repos, 'hostile-arch');
  });
  after(async () => {
    await mirror?.close();
    await listener?.close();
    removeDecoy();
  });

  async function buildWith(packages: string[], extra = ''): Promise<{ result: KilnResult; watch: ReturnType<typeof watchHome>; dir: string }> {
    plantDecoy();
    const dir = imageDir(`[distribution]
name = "archlinux"
architecture = "x86_64"
mirror = "${mirror.url}/$repo/os/$arch"
keyring = ["${keyring}"]
extra-repositories = [{ name = "hostile", server = "${mirror.url}/$repo/os/$arch", keyring = ["${keyring}"] }]

[packages]
install = ${JSON.stringify(packages)}
${extra}
[output]
format = ["directory"]
`);
    const watch = watchHome();
    const result = await kiln(['build', '-C', dir, '--rebuild'], { timeoutMs: 15 * 60_000, onSpawn: watch.onSpawn });
    return { result, watch, dir };
  }

  const check = (label: string, codes: number[], r: { result: KilnResult; watch: ReturnType<typeof watchHome> }) => assertContained(label, codes, r.result, r.watch, listener);

  test('symlinks out of the tree at the files kiln writes: every write stays inside', async () => {
    check('links', [0, 1, 2], await buildWith(['evil-links'], '\n[system]\nhostname = "hostile"\nlocale = "C.UTF-8"\nkeyboard = "de"\n'));
  });

  test('a .PKGINFO name that differs from the database and climbs out is refused', async () => {
    const r = await buildWith(['evil-name']);
    check('pkgname', [1, 2], r);
    assert.match(r.result.stderr, /evil-name/);
  });

  for (const p of EXTRACT) {
    test(`archive paths: ${p.name} is refused or confined`, async () => {
      check(p.name, [0, 1, 2], await buildWith([p.name]));
    });
  }

  test('an .INSTALL scriptlet sees only the tree: no host filesystem through /proc, no secret, no network', async () => {
    const r = await buildWith(['evil-scriptlet']);
    check('scriptlet', [0], r);
    const log = join(r.dir, 'out/image/var/lib/kiln-hostile.log');
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    assert.match(text, /proc-root: denied/, `the scriptlet log: ${text}`);
    assert.doesNotMatch(text, /ESCAPED/, `the scriptlet log: ${text}`);
    const secret = join(r.dir, 'out/image/var/lib/kiln-hostile.log-secret');
    assert.ok(!existsSync(secret) || !readFileSync(secret, 'utf8').includes(SECRET), 'the secret reached the image');
    rmSync(r.dir, { recursive: true, force: true });
  });
});
