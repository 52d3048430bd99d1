/**
 * kiln's own native writes never leave the tree: each path kiln writes,
 * chmods, removes or reads after packages are unpacked is planted as a
 * symlink to a decoy outside the tree (absolute and ../../.. targets), the
 * real function runs, and the decoy must be byte-for-byte and mode-for-mode
 * as it was, with nothing outside the tree created or deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config/index.ts';
import { configureDebs, unpackDebs } from '../../src/formats/deb/install.ts';
import { deferredWrapperFile } from '../../src/formats/deb/deferred.ts';
import { inventoryDeb } from '../../src/formats/deb/inventory.ts';
import { configurePacmans } from '../../src/formats/pacman/install.ts';
import { writeLocalDbHeader, writeLocalEntry } from '../../src/formats/pacman/localdb.ts';
import type { DebInstallPlan } from '../../src/formats/deb/plan.ts';
import type { PacmanInstallPlan } from '../../src/formats/pacman/plan.ts';
import type { InstallContext, InstallPlan } from '../../src/formats/types.ts';
import { DEB_NORMALISATION } from '../../src/formats/deb/normalise.ts';
import { PACMAN_NORMALISATION } from '../../src/formats/pacman/normalise.ts';
import { normaliseTree } from '../../src/normalise/index.ts';
import { resolveOwner } from '../../src/pipeline/overlay.ts';
import { pruneTree } from '../../src/pipeline/prune.ts';
import { configureSystem, setShadowPassword } from '../../src/pipeline/system.ts';
import { applyUsers } from '../../src/pipeline/users.ts';
import { decoyFixture, fifoGuard, plantFifo, type DecoyFixture } from '../helpers/decoy.ts';

const HOW = ['absolute', 'relative'] as const;
const emit = () => {};
const DEB_PLAN: DebInstallPlan = {
  format: 'deb',
  packages: [],
  repositoryDate: 0,
  extra: { mirror: 'http://127.0.0.1:9/debian', release: 'bookworm', components: ['main'], architecture: 'amd64', mergedUsrLinks: [] },
  warnings: [],
};

function context<Plan extends InstallPlan>(root: string, config: Record<string, unknown>, plan: Plan): InstallContext<Plan> & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    root,
    plan,
    blobs: {},
    readPackage: async (p) => {
      throw new Error(`no package file for ${p.name} in this test`);
    },
    config: { 'system.root-ssh-keys': [], 'hooks.inline': [], ...config } as unknown as Config,
    emit,
    cacheDir: join(root, '..', 'cache'),
    sourceDateEpoch: 1_700_000_000,
    run: async (argv: string[]) => void ran.push(argv),
    ran,
  };
}

/** Runs `fn` and checks that nothing outside the tree changed, whatever `fn` did (it may refuse). */
async function untouched(f: DecoyFixture, fn: () => Promise<unknown>): Promise<unknown> {
  const before = f.snapshot();
  const outcome = await fn().then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.deepEqual(f.snapshot(), before, 'a file or directory outside the tree changed');
  return outcome;
}

for (const how of HOW) {
  test(`configureSystem: host name, hosts, locale, time zone and keyboard files that are symlinks out (${how}) are replaced in the tree`, async (t) => {
    const f = decoyFixture(t);
    mkdirSync(join(f.root, 'usr/sbin'), { recursive: true });
    writeFileSync(join(f.root, 'usr/sbin/locale-gen'), '');
    mkdirSync(join(f.root, 'usr/share/zoneinfo/Europe'), { recursive: true });
    writeFileSync(join(f.root, 'usr/share/zoneinfo/Europe/Berlin'), 'TZif');
    for (const rel of ['etc/hostname', 'etc/hosts', 'etc/locale.conf', 'etc/default/locale', 'etc/locale.gen', 'etc/timezone', 'etc/localtime', 'etc/vconsole.conf', 'etc/default/keyboard']) {
      f.plant(rel, rel.replace(/\//g, '_'), how);
    }
    const ctx = context(f.root, { 'system.hostname': 'box', 'system.locale': 'de_DE.UTF-8', 'system.timezone': 'Europe/Berlin', 'system.keyboard': 'de' }, DEB_PLAN);
    assert.equal(await untouched(f, () => configureSystem(ctx)), undefined);
    assert.equal(readFileSync(join(f.root, 'etc/hostname'), 'utf8'), 'box\n');
    assert.ok(lstatSync(join(f.root, 'etc/hosts')).isFile(), 'the link was replaced by a file in the tree');
    assert.equal(readFileSync(join(f.root, 'etc/vconsole.conf'), 'utf8'), 'KEYMAP=de\n');
    assert.equal(readFileSync(join(f.root, 'etc/timezone'), 'utf8'), 'Europe/Berlin\n');
  });

  test(`setShadowPassword: /etc/shadow as a symlink out (${how}) is not written`, async (t) => {
    const f = decoyFixture(t);
    f.plant('etc/shadow', 'shadow', how);
    const err = await untouched(f, () => setShadowPassword(f.root, 'root', '$6$x$y'));
    assert.match(String(err), /\/etc\/shadow does not exist in the image/);
  });

  test(`applyUsers: shadow and gshadow as symlinks out (${how}) are left alone; a skeleton out of the tree is not copied in`, async (t) => {
    const f = decoyFixture(t);
    mkdirSync(join(f.root, 'etc'), { recursive: true });
    writeFileSync(join(f.root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(f.root, 'etc/group'), 'root:x:0:\n');
    f.plant('etc/shadow', 'shadow', how);
    f.plant('etc/gshadow', 'gshadow', how);
    f.plant('etc/skel', 'skel', how, true);
    const err = await untouched(f, () => applyUsers({ root: f.root, sourceDateEpoch: 0, chpasswd: async () => {} }, [{ name: 'alice' }], []));
    assert.equal(err, undefined);
    assert.match(readFileSync(join(f.root, 'etc/passwd'), 'utf8'), /^alice:x:1000:1000:/m);
    assert.throws(() => lstatSync(join(f.root, 'home/alice/keep')), /ENOENT/, 'nothing from outside the tree is copied into the home');
  });

  test(`applyUsers: /etc/passwd as a symlink out (${how}) is not written`, async (t) => {
    const f = decoyFixture(t);
    mkdirSync(join(f.root, 'etc'), { recursive: true });
    writeFileSync(join(f.root, 'etc/group'), 'root:x:0:\n');
    f.plant('etc/passwd', 'passwd', how);
    const err = await untouched(f, () => applyUsers({ root: f.root, sourceDateEpoch: 0, chpasswd: async () => {} }, [{ name: 'alice' }], []));
    assert.match(String(err), /no \/etc\/passwd/);
  });

  test(`deb unpack: dpkg status, available, arch and sources.list as symlinks out (${how})`, async (t) => {
    const f = decoyFixture(t);
    for (const rel of ['var/lib/dpkg/status', 'var/lib/dpkg/available', 'var/lib/dpkg/arch', 'etc/apt/sources.list']) f.plant(rel, rel.replace(/\//g, '_'), how);
    const ctx = context(f.root, {}, DEB_PLAN);
    assert.equal(await untouched(f, () => unpackDebs(ctx)), undefined);
    assert.equal(readFileSync(join(f.root, 'var/lib/dpkg/arch'), 'utf8'), 'amd64\n');
    assert.equal(readFileSync(join(f.root, 'var/lib/dpkg/status'), 'utf8'), '');
  });

  test(`deb unpack: /tmp as a symlink out (${how}) is not chmodded`, async (t) => {
    const f = decoyFixture(t);
    f.plant('tmp', 'tmp', how, true);
    // The decoy lives under the host's /tmp, so inside the image the link leads back to itself: a loop, refused.
    await untouched(f, () => unpackDebs(context(f.root, {}, DEB_PLAN)));
  });

  test(`deb configure: policy-rc.d, sources.list, apt lists and dpkg.log as symlinks out (${how})`, async (t) => {
    const f = decoyFixture(t);
    f.plant('usr/sbin/policy-rc.d', 'policy-rc.d', how);
    f.plant('etc/apt/sources.list', 'sources.list', how);
    f.plant('var/lib/apt/lists', 'lists', how, true);
    f.plant('var/log/dpkg.log', 'dpkg.log', how);
    const ctx = context(f.root, {}, DEB_PLAN);
    // kiln's cache (beside the tree here) is written on purpose: the deferred hooks' wrapper, made before the snapshot.
    await deferredWrapperFile(ctx.cacheDir);
    assert.equal(await untouched(f, () => configureDebs(ctx, [])), undefined);
    assert.deepEqual(ctx.ran, [['dpkg', '--force-unsafe-io', '--configure', '-a']]);
    assert.match(readFileSync(join(f.root, 'etc/apt/sources.list'), 'utf8'), /^deb http:\/\/127\.0\.0\.1:9\/debian bookworm main$/m);
  });

  test(`pacman: the local database, pacman.conf and the mirrorlist as symlinks out (${how})`, async (t) => {
    const f = decoyFixture(t);
    f.plant('var/lib/pacman/local', 'local', how, true);
    f.plant('etc/pacman.conf', 'pacman.conf', how);
    f.plant('etc/pacman.d/mirrorlist', 'mirrorlist', how);
    const pkginfo = new Map([['pkgname', ['foo']], ['pkgver', ['1-1']], ['arch', ['x86_64']]]);
    const plan: PacmanInstallPlan = {
      format: 'pacman',
      packages: [],
      repositoryDate: 0,
      extra: { architecture: 'x86_64', sources: [{ name: 'core', url: 'http://127.0.0.1:9/core', server: 'http://127.0.0.1:9/core', signed: true, third: false }], keyringPackages: [] },
      warnings: [],
    };
    const ctx = context(f.root, {}, plan);
    const err = await untouched(f, async () => {
      await writeLocalDbHeader(f.root);
      await writeLocalEntry(f.root, { planned: { name: 'foo', version: '1-1' }, unpacked: { pkginfo, files: ['usr/'], backup: [], metadataTimes: {} }, explicit: true, installDate: 0, validated: true });
      await configurePacmans(ctx, []);
    });
    assert.equal(err, undefined);
    assert.match(readFileSync(join(f.root, 'etc/pacman.conf'), 'utf8'), /^\[core\]$/m);
  });

  test(`license reading: a copyright file that is a symlink out (${how}) is not read into the manifest`, async (t) => {
    const f = decoyFixture(t);
    mkdirSync(join(f.root, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(f.root, 'var/lib/dpkg/status'), 'Package: pkg\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n');
    f.plant('usr/share/doc/pkg/copyright', 'copyright', how);
    writeFileSync(join(f.decoy, 'copyright'), 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nLicense: HOST-SECRET\n');
    const installed = await inventoryDeb(f.root, () => {});
    assert.deepEqual(installed.map((p) => p.licenses), [[]]);
  });

  test(`finalize's normalisation: machine ids, seeds, logs, caches and keys under symlinks out (${how})`, async (t) => {
    const f = decoyFixture(t);
    for (const dir of ['var/lib/urandom', 'var/lib/systemd', 'var/lib/dbus', 'var/log', 'var/cache/fontconfig', 'etc/ssh', 'var/lib/apt/lists', 'var/lib/pacman/local']) f.plant(dir, dir.replace(/\//g, '-'), how, true);
    writeFileSync(join(f.decoy, 'var-lib-dbus/machine-id'), 'x');
    writeFileSync(join(f.decoy, 'var-log/syslog.1'), 'x');
    writeFileSync(join(f.decoy, 'etc-ssh/ssh_host_rsa_key'), 'x');
    f.plant('etc/machine-id', 'machine-id', how);
    f.plant('etc/shadow', 'shadow', how);
    const ctx = { sourceDateEpoch: 1_700_000_000, hostname: 'image', host: { hostname: 'image' } };
    for (const items of [DEB_NORMALISATION, PACMAN_NORMALISATION]) assert.equal(await untouched(f, async () => normaliseTree(f.root, items, ctx, () => {})), undefined);
  });

  test(`prune: patterns under symlinks out (${how}) remove the links only`, async (t) => {
    const f = decoyFixture(t);
    f.plant('var/lib/urandom', 'urandom', how, true);
    f.plant('var/cache/x', 'cache-x', how, true);
    assert.equal(await untouched(f, () => pruneTree(f.root, ['var/lib/urandom/*', 'var/cache/**/keep', 'var/cache/x'], emit)), undefined);
    assert.throws(() => lstatSync(join(f.root, 'var/cache/x')), /ENOENT/);
  });
}

// A FIFO in a package: kiln must not open it (a native open would block forever).

test('a FIFO as a copyright file is skipped with a warning, promptly', async (t) => {
  const f = decoyFixture(t);
  mkdirSync(join(f.root, 'var/lib/dpkg'), { recursive: true });
  writeFileSync(join(f.root, 'var/lib/dpkg/status'), 'Package: pkg\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n');
  plantFifo(f.root, 'usr/share/doc/pkg/copyright');
  const guard = fifoGuard(t, join(f.root, 'usr/share/doc/pkg/copyright'));
  const warnings: string[] = [];
  const installed = await inventoryDeb(f.root, (m) => warnings.push(m));
  assert.equal(guard.fired(), false, 'the license reader blocked on the FIFO');
  assert.deepEqual(installed.map((p) => p.licenses), [[]]);
  assert.match(warnings.join('\n'), /pkg: .*\/usr\/share\/doc\/pkg\/copyright in the image is a FIFO, not a regular file/);
});

test('a FIFO as /etc/passwd fails applyUsers promptly', async (t) => {
  const f = decoyFixture(t);
  mkdirSync(join(f.root, 'etc'), { recursive: true });
  writeFileSync(join(f.root, 'etc/group'), 'root:x:0:\n');
  plantFifo(f.root, 'etc/passwd');
  const guard = fifoGuard(t, join(f.root, 'etc/passwd'));
  const err = await applyUsers({ root: f.root, sourceDateEpoch: 0, chpasswd: async () => {} }, [{ name: 'alice' }], []).then(() => undefined, (e: unknown) => e);
  assert.equal(guard.fired(), false, 'applyUsers blocked on the FIFO');
  assert.match(String(err), /\/etc\/passwd in the image is a FIFO, not a regular file/);
});

test('a FIFO as /etc/passwd fails the owner lookup of an overlay promptly', async (t) => {
  const f = decoyFixture(t);
  plantFifo(f.root, 'etc/passwd');
  const guard = fifoGuard(t, join(f.root, 'etc/passwd'));
  assert.throws(() => resolveOwner(f.root, 'pi:0', 'overlay.owner'), /\/etc\/passwd in the image is a FIFO/);
  assert.equal(guard.fired(), false, 'the owner lookup blocked on the FIFO');
});

for (const [rel, config] of [
  ['etc/locale.gen', { 'system.locale': 'de_DE.UTF-8' }],
  ['etc/default/keyboard', { 'system.keyboard': 'de' }],
] as const) {
  test(`a FIFO as /${rel} fails configureSystem promptly`, async (t) => {
    const f = decoyFixture(t);
    mkdirSync(join(f.root, 'usr/sbin'), { recursive: true });
    writeFileSync(join(f.root, 'usr/sbin/locale-gen'), '');
    plantFifo(f.root, rel);
    const guard = fifoGuard(t, join(f.root, rel));
    const err = await configureSystem(context(f.root, { 'system.hostname': 'box', ...config }, DEB_PLAN)).then(() => undefined, (e: unknown) => e);
    assert.equal(guard.fired(), false, 'configureSystem blocked on the FIFO');
    assert.match(String(err), new RegExp(`/${rel} in the image is a FIFO, not a regular file`));
  });
}
