/**
 * The normalisations every tree gets, whatever its package format (the
 * formats' own come first: src/formats/FORMAT/normalise.ts). Each says why;
 * the README's table lists them.
 */
import { SHADOW_DATES } from './accounts.ts';
import { LOG_FILES } from './logs.ts';
import { emptyDirectory, removeEach, saidRemoved } from './paths.ts';
import { PYTHON_BYTECODE } from './pyc.ts';
import type { NormaliseItem } from './types.ts';

const MACHINE_ID: NormaliseItem = {
  name: 'machine-id',
  paths: ['/etc/machine-id', '/var/lib/dbus/machine-id'],
  why: "systemd makes a machine id on first boot when /etc/machine-id is empty; one made in the build would be every machine's. D-Bus's own copy becomes a link to it, as dbus makes it under systemd",
  run: (tree) => {
    const said: string[] = [];
    const etc = tree.lstat('etc/machine-id');
    if (etc?.isFile() && etc.size > 0) {
      tree.write('etc/machine-id', '');
      said.push('emptied /etc/machine-id');
    }
    if (tree.lstat('var/lib/dbus/machine-id')?.isFile()) {
      tree.remove('var/lib/dbus/machine-id');
      tree.symlink('/etc/machine-id', 'var/lib/dbus/machine-id');
      said.push('made /var/lib/dbus/machine-id a link to /etc/machine-id');
    }
    return said.length ? said.join(', ') : undefined;
  },
};

const RANDOM_SEEDS: NormaliseItem = {
  name: 'random-seeds',
  paths: ['/var/lib/systemd/random-seed', '/var/lib/urandom/random-seed', '/var/lib/systemd/credential.secret'],
  why: "a seed or secret made in the build would be every machine's; each is made on first boot",
  run: (tree) => saidRemoved(removeEach(tree, ['var/lib/systemd/random-seed', 'var/lib/urandom/random-seed', 'var/lib/systemd/credential.secret'])),
};

const SSH_HOST_KEYS: NormaliseItem = {
  name: 'ssh-host-keys',
  paths: ['/etc/ssh/ssh_host_*'],
  why: "openssh-server's postinst makes host keys in the build: every machine would share them, and they differ between builds. The first boot makes them (Arch: sshdgenkeys.service; Debian: kiln's unit, see ssh-keygen-unit)",
  run: (tree) => {
    const keys = tree.lstat('etc/ssh')?.isDirectory() ? tree.readdir('etc/ssh').filter((n) => n.startsWith('ssh_host_')).sort() : [];
    return saidRemoved(removeEach(tree, keys.map((n) => `etc/ssh/${n}`)));
  },
};

const LDCONFIG_CACHE: NormaliseItem = {
  name: 'ldconfig-aux-cache',
  paths: ['/var/cache/ldconfig/aux-cache'],
  why: "ldconfig's auxiliary cache records the build's inode numbers and times; ldconfig makes it again when it runs",
  run: (tree) => saidRemoved(removeEach(tree, ['var/cache/ldconfig/aux-cache'])),
};

const FONT_CACHES: NormaliseItem = {
  name: 'font-caches',
  paths: ['/var/cache/fontconfig/*'],
  why: "fontconfig's caches record each font directory's mtime, which the clamp changes: they would be stale in the image (fontconfig rescans and caches again when it finds none). Icon, MIME and GIO caches hold no times and are kept",
  run: (tree) => {
    const removed = emptyDirectory(tree, 'var/cache/fontconfig', ['CACHEDIR.TAG']);
    return removed ? `removed ${removed} fontconfig caches` : undefined;
  },
};

/** What a build on another host would not have: the host's DNS settings or name where the tree has them. */
const HOST_STATE: NormaliseItem = {
  name: 'host-state',
  paths: ['/etc/resolv.conf', '/etc/hostname'],
  why: "the build host's DNS servers and name must not ship in an image: a regular /etc/resolv.conf that is the host's is removed (links, as systemd-resolved's, and a resolv.conf of the image's own are kept); an /etc/hostname that names the build host becomes system.hostname",
  run: (tree, ctx) => {
    const said: string[] = [];
    const resolv = tree.lstat('etc/resolv.conf');
    if (resolv?.isFile() && ctx.host.resolvConf !== undefined && tree.readText('etc/resolv.conf') === ctx.host.resolvConf) {
      tree.remove('etc/resolv.conf');
      said.push("removed the host's /etc/resolv.conf");
    }
    const name = tree.lstat('etc/hostname');
    const named = name?.isFile() ? tree.readText('etc/hostname').trim() : undefined;
    if (named !== undefined && named === ctx.host.hostname && named !== ctx.hostname) {
      tree.write('etc/hostname', `${ctx.hostname}\n`);
      said.push(`set /etc/hostname to ${ctx.hostname}`);
    }
    return said.length ? said.join(', ') : undefined;
  },
};

export const COMMON_NORMALISATION: readonly NormaliseItem[] = [MACHINE_ID, RANDOM_SEEDS, SSH_HOST_KEYS, LDCONFIG_CACHE, FONT_CACHES, PYTHON_BYTECODE, SHADOW_DATES, HOST_STATE, LOG_FILES];
