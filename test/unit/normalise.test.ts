/** finalize's normalisation (src/normalise/, src/formats/FORMAT/normalise.ts), item by item, on fixture trees. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEB_NORMALISATION, SSH_KEYGEN_UNIT } from '../../src/formats/deb/normalise.ts';
import { clampInstallDate, PACMAN_NORMALISATION } from '../../src/formats/pacman/normalise.ts';
import { FORMATS } from '../../src/formats/index.ts';
import { COMMON_NORMALISATION, normaliseTree } from '../../src/normalise/index.ts';
import { clampShadowDays } from '../../src/normalise/accounts.ts';
import { pycSource } from '../../src/normalise/pyc.ts';

const SDE = 1_700_000_000;
const CTX = { sourceDateEpoch: SDE, hostname: 'image', host: { hostname: 'buildhost', resolvConf: 'nameserver 10.1.2.3\n' } };

function fixture(t: TestContext, files: Record<string, string | Buffer>): { root: string; at: (p: string) => string; log: string[]; run: (items?: readonly import('../../src/normalise/index.ts').NormaliseItem[]) => void } {
  const root = mkdtempSync(join(tmpdir(), 'kiln-normalise-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
    else writeFileSync(join(root, path), data);
  }
  const log: string[] = [];
  return { root, at: (p) => join(root, p), log, run: (items = []) => normaliseTree(root, items, CTX, (l) => log.push(l)) };
}

test('every format gives its normalisation, and every item has a unique name and a reason, and is in the README table', () => {
  assert.equal(FORMATS.deb.normalise, DEB_NORMALISATION);
  assert.equal(FORMATS.pacman.normalise, PACMAN_NORMALISATION);
  const items = [...COMMON_NORMALISATION, ...DEB_NORMALISATION, ...PACMAN_NORMALISATION];
  assert.equal(new Set(items.map((i) => i.name)).size, items.length);
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const item of items) {
    assert.ok(item.why.length > 20 && item.paths.length > 0, item.name);
    assert.match(readme, new RegExp(`^\\| \`${item.name}\` \\|`, 'm'), `README's normalisation table lacks ${item.name}`);
  }
});

test('machine-id: /etc/machine-id emptied (kept, for first boot), D-Bus copy becomes a link; an absent one stays absent', (t) => {
  const f = fixture(t, { 'etc/machine-id': 'abc123\n', 'var/lib/dbus/machine-id': 'abc123\n' });
  f.run();
  assert.equal(readFileSync(f.at('etc/machine-id'), 'utf8'), '');
  assert.equal(readlinkSync(f.at('var/lib/dbus/machine-id')), '/etc/machine-id');
  assert.match(f.log.join('\n'), /^machine-id: emptied \/etc\/machine-id, made/m);
  const none = fixture(t, { 'etc/hostname': 'image\n' });
  none.run();
  assert.equal(existsSync(none.at('etc/machine-id')), false);
  assert.deepEqual(none.log, []);
});

test('random-seeds, ssh-host-keys, ldconfig-aux-cache, font-caches: removed (CACHEDIR.TAG and sshd_config stay)', (t) => {
  const f = fixture(t, {
    'var/lib/systemd/random-seed': 'x', 'var/lib/urandom/random-seed': 'x', 'var/lib/systemd/credential.secret': 'x',
    'etc/ssh/ssh_host_rsa_key': 'k', 'etc/ssh/ssh_host_rsa_key.pub': 'k', 'etc/ssh/ssh_host_ed25519_key': 'k', 'etc/ssh/sshd_config': 'c',
    'var/cache/ldconfig/aux-cache': 'x', 'var/cache/fontconfig/abc-le64.cache-8': 'x', 'var/cache/fontconfig/CACHEDIR.TAG': 'tag',
  });
  f.run();
  for (const gone of ['var/lib/systemd/random-seed', 'var/lib/urandom/random-seed', 'var/lib/systemd/credential.secret', 'etc/ssh/ssh_host_rsa_key', 'etc/ssh/ssh_host_rsa_key.pub', 'etc/ssh/ssh_host_ed25519_key', 'var/cache/ldconfig/aux-cache', 'var/cache/fontconfig/abc-le64.cache-8']) {
    assert.equal(existsSync(f.at(gone)), false, gone);
  }
  assert.ok(existsSync(f.at('etc/ssh/sshd_config')) && existsSync(f.at('var/cache/fontconfig/CACHEDIR.TAG')));
  assert.deepEqual(f.log.map((l) => l.split(':')[0]), ['random-seeds', 'ssh-host-keys', 'ldconfig-aux-cache', 'font-caches']);
});

test("log-files: logs with content truncated (owner and mode kept), empty ones kept, rotated and journal files removed", (t) => {
  const f = fixture(t, { 'var/log/fontconfig.log': 'scanned\n', 'var/log/btmp': '', 'var/log/wtmp': '', 'var/log/syslog.1': 'old', 'var/log/messages.gz': 'old', 'var/log/journal/0123abcd/system.journal': 'j', 'var/log/runit/ssh/': '' });
  chmodSync(f.at('var/log/fontconfig.log'), 0o640);
  f.run();
  assert.equal(readFileSync(f.at('var/log/fontconfig.log'), 'utf8'), '');
  assert.equal(statSync(f.at('var/log/fontconfig.log')).mode & 0o777, 0o640);
  assert.ok(existsSync(f.at('var/log/btmp')) && existsSync(f.at('var/log/wtmp')) && existsSync(f.at('var/log/runit/ssh')) && existsSync(f.at('var/log/journal')));
  for (const gone of ['var/log/syslog.1', 'var/log/messages.gz', 'var/log/journal/0123abcd']) assert.equal(existsSync(f.at(gone)), false, gone);
  assert.deepEqual(f.log, ['log-files: truncated 1 logs, removed 2 rotated logs, removed 1 journal entries']);
});

/** A PEP 552 header and a body. */
const pyc = (flags: number, a: number, b: number) => {
  const h = Buffer.alloc(20);
  h.writeUInt32LE(0x0a0d0da7, 0);
  h.writeUInt32LE(flags, 4);
  h.writeUInt32LE(a, 8);
  h.writeUInt32LE(b, 12);
  return h;
};

test("python-bytecode: a timestamp .pyc gets its source's clamped time, a stale one goes, hash-based and sourceless ones stay", (t) => {
  const f = fixture(t, {
    'usr/lib/p/a.py': 'print(1)\n', 'usr/lib/p/__pycache__/a.cpython-311.pyc': pyc(0, SDE + 500, 9),
    'usr/lib/p/b.py': 'print(22)\n', 'usr/lib/p/__pycache__/b.cpython-311.opt-1.pyc': pyc(0, SDE + 500, 9),
    'usr/lib/p/c.py': 'x\n', 'usr/lib/p/__pycache__/c.cpython-311.pyc': pyc(3, 1, 2),
    'usr/lib/p/__pycache__/gone.cpython-311.pyc': pyc(0, 5, 5),
  });
  utimesSync(f.at('usr/lib/p/a.py'), SDE + 500, SDE + 500);
  f.run();
  assert.equal(readFileSync(f.at('usr/lib/p/__pycache__/a.cpython-311.pyc')).readUInt32LE(8), SDE);
  assert.equal(existsSync(f.at('usr/lib/p/__pycache__/b.cpython-311.opt-1.pyc')), false);
  assert.deepEqual(readFileSync(f.at('usr/lib/p/__pycache__/c.cpython-311.pyc')), pyc(3, 1, 2));
  assert.deepEqual(readFileSync(f.at('usr/lib/p/__pycache__/gone.cpython-311.pyc')), pyc(0, 5, 5));
  assert.deepEqual(f.log, ['python-bytecode: set the source time of 1 timestamp-based .pyc files, removed 1 stale ones']);
  assert.equal(pycSource('__pycache__/x.cpython-311.pyc'), 'x.py');
  assert.equal(pycSource('usr/lib/old.pyc'), 'usr/lib/old.py');
});

test("shadow-dates: last-change days after SOURCE_DATE_EPOCH's day become its day; earlier and empty ones stay", (t) => {
  const day = Math.floor(SDE / 86_400);
  assert.deepEqual(clampShadowDays(`root:*:${day + 3}:0:99999:7:::\nbin:*:${day - 10}:0:99999:7:::\nnobody:*::0:99999:7:::\n`, day), { text: `root:*:${day}:0:99999:7:::\nbin:*:${day - 10}:0:99999:7:::\nnobody:*::0:99999:7:::\n`, changed: 1 });
  const f = fixture(t, { 'etc/shadow': `root:*:${day + 1}:0:99999:7:::\n` });
  chmodSync(f.at('etc/shadow'), 0o640);
  f.run();
  assert.equal(readFileSync(f.at('etc/shadow'), 'utf8'), `root:*:${day}:0:99999:7:::\n`);
  assert.equal(statSync(f.at('etc/shadow')).mode & 0o777, 0o640);
});

test("host-state: the host's resolv.conf and host name go; the image's own resolv.conf, a link and a chosen name stay", (t) => {
  const f = fixture(t, { 'etc/resolv.conf': CTX.host.resolvConf, 'etc/hostname': 'buildhost\n' });
  f.run();
  assert.equal(existsSync(f.at('etc/resolv.conf')), false);
  assert.equal(readFileSync(f.at('etc/hostname'), 'utf8'), 'image\n');
  const own = fixture(t, { 'etc/resolv.conf': 'nameserver 192.0.2.1\n', 'etc/hostname': 'kiosk\n' });
  own.run();
  assert.equal(readFileSync(own.at('etc/resolv.conf'), 'utf8'), 'nameserver 192.0.2.1\n');
  assert.equal(readFileSync(own.at('etc/hostname'), 'utf8'), 'kiosk\n');
  assert.deepEqual(own.log, []);
});

test('deb: dpkg and apt logs, backups, lists and caches removed (partial, lock and archives stay); an ssh.service gets the keygen unit', (t) => {
  const f = fixture(t, {
    'var/log/dpkg.log': 'x', 'var/log/alternatives.log': 'x', 'var/log/apt/history.log': 'x', 'var/log/apt/term.log': 'x',
    'var/lib/dpkg/status-old': 'x', 'var/cache/debconf/config.dat-old': 'x', 'var/cache/debconf/config.dat': 'keep',
    'var/lib/apt/lists/deb_dists_bookworm_InRelease': 'x', 'var/lib/apt/lists/partial/': '', 'var/lib/apt/lists/lock': '',
    'var/cache/apt/pkgcache.bin': 'x', 'var/cache/apt/srcpkgcache.bin': 'x', 'var/cache/apt/archives/partial/': '', 'var/cache/apt/archives/hello_1_amd64.deb': 'x',
    'usr/lib/systemd/system/ssh.service': '[Unit]\n',
  });
  f.run(DEB_NORMALISATION);
  for (const gone of ['var/log/dpkg.log', 'var/log/alternatives.log', 'var/log/apt/history.log', 'var/lib/dpkg/status-old', 'var/cache/debconf/config.dat-old', 'var/lib/apt/lists/deb_dists_bookworm_InRelease', 'var/cache/apt/pkgcache.bin', 'var/cache/apt/archives/hello_1_amd64.deb']) {
    assert.equal(existsSync(f.at(gone)), false, gone);
  }
  for (const kept of ['var/log/apt', 'var/cache/debconf/config.dat', 'var/lib/apt/lists/partial', 'var/lib/apt/lists/lock', 'var/cache/apt/archives/partial']) assert.ok(existsSync(f.at(kept)), kept);
  assert.equal(readFileSync(f.at('etc/systemd/system/kiln-ssh-keygen.service'), 'utf8'), SSH_KEYGEN_UNIT);
  assert.equal(readlinkSync(f.at('etc/systemd/system/ssh.service.wants/kiln-ssh-keygen.service')), '/etc/systemd/system/kiln-ssh-keygen.service');
  assert.ok(lstatSync(f.at('etc/systemd/system/ssh.socket.wants/kiln-ssh-keygen.service')).isSymbolicLink());
  assert.deepEqual(f.log.map((l) => l.split(':')[0]), ['dpkg-logs', 'dpkg-backups', 'apt-lists-and-caches', 'ssh-keygen-unit']);
  const noSsh = fixture(t, { 'etc/hostname': 'image\n' });
  noSsh.run(DEB_NORMALISATION);
  assert.equal(existsSync(noSsh.at('etc/systemd')), false);
});

test('pacman: install dates after SOURCE_DATE_EPOCH set to it, pacman.log, sync databases and cached packages removed', (t) => {
  assert.deepEqual(clampInstallDate(`%NAME%\nx\n\n%INSTALLDATE%\n${SDE + 60}\n\n%SIZE%\n1\n`, SDE), { text: `%NAME%\nx\n\n%INSTALLDATE%\n${SDE}\n\n%SIZE%\n1\n`, changed: true });
  assert.equal(clampInstallDate(`%INSTALLDATE%\n${SDE - 1}\n`, SDE).changed, false);
  const f = fixture(t, {
    'var/lib/pacman/local/a-1-1/desc': `%NAME%\na\n\n%INSTALLDATE%\n${SDE + 60}\n`, 'var/lib/pacman/local/b-1-1/desc': `%NAME%\nb\n\n%INSTALLDATE%\n${SDE}\n`,
    'var/log/pacman.log': 'x', 'var/lib/pacman/sync/core.db': 'x', 'var/cache/pacman/pkg/a-1-1-x86_64.pkg.tar.zst': 'x',
  });
  f.run(PACMAN_NORMALISATION);
  assert.match(readFileSync(f.at('var/lib/pacman/local/a-1-1/desc'), 'utf8'), new RegExp(`%INSTALLDATE%\\n${SDE}\\n`));
  for (const gone of ['var/log/pacman.log', 'var/lib/pacman/sync/core.db', 'var/cache/pacman/pkg/a-1-1-x86_64.pkg.tar.zst']) assert.equal(existsSync(f.at(gone)), false, gone);
  assert.ok(existsSync(f.at('var/lib/pacman/sync')) && existsSync(f.at('var/cache/pacman/pkg')));
  assert.deepEqual(f.log, [`pacman-install-dates: set 1 install dates to SOURCE_DATE_EPOCH ${SDE}`, 'pacman-log: removed /var/log/pacman.log', 'pacman-sync-and-cache: removed 1 sync databases, removed 1 cached packages']);
});
