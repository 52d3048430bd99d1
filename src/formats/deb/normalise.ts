/**
 * What finalize normalises in a Debian-format tree, before the common items
 * (src/normalise/common.ts): dpkg's and apt's logs and backups, apt's
 * downloaded lists and caches, and a first-boot unit for the ssh host keys
 * the common items remove.
 */
import type { NormaliseItem } from '../../normalise/types.ts';
import { emptyDirectory, removeEach, saidRemoved } from '../../normalise/paths.ts';

const DPKG_LOGS: NormaliseItem = {
  name: 'dpkg-logs',
  paths: ['/var/log/dpkg.log', '/var/log/alternatives.log', '/var/log/apt/*'],
  why: 'every line is dated by the clock of the build; dpkg and apt start them again on the first install',
  run: (tree) => {
    const removed = removeEach(tree, ['var/log/dpkg.log', 'var/log/alternatives.log']);
    const apt = emptyDirectory(tree, 'var/log/apt');
    const said = [saidRemoved(removed), apt && `removed ${apt} apt logs`].filter(Boolean);
    return said.length ? said.join(', ') : undefined;
  },
};

const DPKG_BACKUPS = ['var/lib/dpkg/status-old', 'var/lib/dpkg/diversions-old', 'var/lib/dpkg/statoverride-old', 'var/cache/debconf/config.dat-old', 'var/cache/debconf/templates.dat-old', 'var/cache/debconf/passwords.dat-old'];

const DPKG_BACKUP_FILES: NormaliseItem = {
  name: 'dpkg-backups',
  paths: ['/var/lib/dpkg/*-old', '/var/cache/debconf/*-old'],
  why: "dpkg's and debconf's copies of their databases from before the last change: a record of the build's steps, not of the image",
  run: (tree) => saidRemoved(removeEach(tree, DPKG_BACKUPS)),
};

const APT_CACHES: NormaliseItem = {
  name: 'apt-lists-and-caches',
  paths: ['/var/lib/apt/lists/*', '/var/cache/apt/*.bin', '/var/cache/apt/archives/*.deb'],
  why: 'the indexes and packages a hook downloaded with apt are dated, large and stale on the first boot (apt update gets them again); the directories and their locks stay',
  run: (tree) => {
    const lists = emptyDirectory(tree, 'var/lib/apt/lists', ['partial', 'lock']);
    const caches = emptyDirectory(tree, 'var/cache/apt', ['archives']);
    const debs = tree.lstat('var/cache/apt/archives')?.isDirectory() ? removeEach(tree, tree.readdir('var/cache/apt/archives').filter((n) => n.endsWith('.deb')).map((n) => `var/cache/apt/archives/${n}`)).length : 0;
    const said = [lists && `removed ${lists} lists`, caches && `removed ${caches} caches`, debs && `removed ${debs} downloaded packages`].filter(Boolean);
    return said.length ? said.join(', ') : undefined;
  },
};

/** The unit that makes the host keys the common items remove (Debian's ssh.service does not, and sshd -t fails without them). */
export const SSH_KEYGEN_UNIT = `[Unit]
Description=Make the SSH host keys this machine does not have yet (kiln)
ConditionPathExists=/usr/bin/ssh-keygen
Before=ssh.service ssh.socket

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=ssh.service ssh.socket
`;

const SSH_KEYGEN: NormaliseItem = {
  name: 'ssh-keygen-unit',
  paths: ['/etc/systemd/system/kiln-ssh-keygen.service'],
  why: "the image ships no ssh host keys (ssh-host-keys): with openssh-server's systemd unit present, a unit makes them on first boot, before ssh.service or ssh.socket starts",
  run: (tree) => {
    if (!['usr/lib/systemd/system/ssh.service', 'lib/systemd/system/ssh.service'].some((p) => tree.lstat(p))) return undefined;
    if (tree.readTextIfExists('etc/systemd/system/kiln-ssh-keygen.service') === SSH_KEYGEN_UNIT) return undefined;
    tree.mkdir('etc/systemd/system');
    tree.write('etc/systemd/system/kiln-ssh-keygen.service', SSH_KEYGEN_UNIT);
    for (const wanting of ['ssh.service', 'ssh.socket']) {
      tree.mkdir(`etc/systemd/system/${wanting}.wants`);
      tree.symlink('/etc/systemd/system/kiln-ssh-keygen.service', `etc/systemd/system/${wanting}.wants/kiln-ssh-keygen.service`, { replace: true });
    }
    return 'added kiln-ssh-keygen.service, wanted by ssh.service and ssh.socket';
  },
};

export const DEB_NORMALISATION: readonly NormaliseItem[] = [DPKG_LOGS, DPKG_BACKUP_FILES, APT_CACHES, SSH_KEYGEN];
