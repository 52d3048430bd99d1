/**
 * The image's pacman keyring (/etc/pacman.d/gnupg) is made on the image's
 * first boot, not at build time, as Arch Linux's own images do (the install
 * medium's and the VM images' pacman-init.service): a unit kiln enables runs
 * `pacman-key --init` and `pacman-key --populate` once, when the keyring is
 * still missing.
 *
 * Why not at build time: `pacman-key --init` makes a local master key that
 * every other key's validity hangs on (it locally signs the distribution's
 * keys). Made afresh on each build machine, it makes two machines' images
 * differ; derived from a seed, it would be reproducible, but its secret half
 * would then be known to anyone who knows the seed, who could certify a key
 * of their own that every such image trusts (pacman fetches unknown keys
 * from key servers). Made on first boot, it is each machine's own and secret,
 * and the image is the same on every build machine.
 *
 * The packages' signatures are checked by kiln itself before anything is
 * unpacked (verify.ts), so the build needs no keyring in the tree. A
 * `.chroot` hook that runs pacman runs the two pacman-key commands first.
 */
import { Tree } from '../../tree/index.ts';

const KEYRINGS = 'usr/share/pacman/keyrings';
const GNUPG = 'etc/pacman.d/gnupg';
export const KEYRING_UNIT = 'etc/systemd/system/pacman-init.service';
const UNIT_WANTS = 'etc/systemd/system/multi-user.target.wants/pacman-init.service';

/** The first-boot unit: once, while /etc/pacman.d/gnupg is missing or empty. */
export const KEYRING_UNIT_TEXT = `# Written by kiln: the pacman keyring is made on the first boot, so that
# every machine has its own local master key and the image stays reproducible.
[Unit]
Description=Initialise the pacman keyring
ConditionDirectoryNotEmpty=!/etc/pacman.d/gnupg
After=systemd-remount-fs.service time-sync.target
Before=multi-user.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/pacman-key --init
ExecStart=/usr/bin/pacman-key --populate

[Install]
WantedBy=multi-user.target
`;

/** Leaves the keyring for the first boot: no keyring in the tree (a package's included), the unit written and enabled. Returns what it did, for the log. */
export function prepareKeyring(root: string): string {
  const tree = new Tree(root);
  tree.remove(GNUPG, { recursive: true });
  const names = (tree.isDirectory(KEYRINGS) ? tree.readdir(KEYRINGS) : []).filter((n) => n.endsWith('.gpg')).map((n) => n.slice(0, -4)).sort();
  if (!names.length) return 'no keyring package in the tree';
  tree.mkdir('etc/systemd/system/multi-user.target.wants');
  tree.write(KEYRING_UNIT, KEYRING_UNIT_TEXT, { mode: 0o644 });
  tree.symlink('../pacman-init.service', UNIT_WANTS, { replace: true });
  return `${names.join(', ')}: made on first boot (pacman-init.service)`;
}
