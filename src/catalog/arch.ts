/**
 * The Arch Linux family: Arch Linux and its ports. Each is data: its
 * architectures, mirror pattern ($repo and $arch are filled in per
 * repository, as pacman's mirrorlist does), repositories, keyring packages
 * and where a host keeps its keyring.
 */
import type { Distribution } from './types.ts';

/** pacman's own base sets: `minimal` is the `base` meta package, as pacstrap installs it. */
const ARCH_BASE_SETS = {
  essential: ['filesystem', 'pacman'],
  minimal: ['base'],
  standard: ['base', 'less', 'which', 'nano', 'sudo', 'openssh', 'man-db'],
  none: [],
};

/** The keyring files a host may hold for a keyring package, in the order to try them. */
function hostKeyrings(keyring: string): string[] {
  // Debian's archlinux-keyring puts it under /usr/share/keyrings, an Arch host under /usr/share/pacman/keyrings.
  return [`/usr/share/keyrings/${keyring}.gpg`, `/usr/share/pacman/keyrings/${keyring}.gpg`];
}

const pacman = (d: Omit<Distribution, 'format' | 'releases' | 'defaultRelease' | 'mergedUsrLinks' | 'baseSets' | 'alwaysInstall'> & { keyringPackages: string[] }): Distribution => ({
  ...d,
  format: 'pacman',
  releases: ['rolling'],
  defaultRelease: 'rolling',
  baseSets: ARCH_BASE_SETS,
  alwaysInstall: d.keyringPackages,
  // The filesystem package owns the /bin, /lib, /sbin links.
  mergedUsrLinks: () => [],
});

export const archlinux = pacman({
  name: 'archlinux',
  aliases: ['arch'],
  pretty: 'Arch Linux',
  architectures: { x86_64: 'x86_64' },
  architectureAliases: { amd64: 'x86_64' },
  defaultMirror: () => 'https://geo.mirror.pkgbuild.com/$repo/os/$arch',
  repositories: ['core', 'extra'],
  keyrings: hostKeyrings('archlinux'),
  keyringPackages: ['archlinux-keyring'],
});

export const archlinuxarm = pacman({
  name: 'archlinuxarm',
  aliases: ['alarm', 'archarm'],
  pretty: 'Arch Linux ARM',
  architectures: { aarch64: 'aarch64', armv7h: 'arm' },
  armVersions: { armv7h: 'v7' },
  architectureAliases: { arm64: 'aarch64', armhf: 'armv7h', armv7: 'armv7h' },
  defaultMirror: () => 'http://mirror.archlinuxarm.org/$arch/$repo',
  repositories: ['core', 'extra', 'alarm'],
  keyrings: hostKeyrings('archlinuxarm'),
  keyringPackages: ['archlinuxarm-keyring'],
});

export const archlinux32 = pacman({
  name: 'archlinux32',
  aliases: ['arch32'],
  pretty: 'Arch Linux 32',
  architectures: { i686: 'i386', pentium4: 'i386', i486: 'i386' },
  architectureAliases: { i386: 'i686', x86: 'i686' },
  defaultMirror: () => 'https://mirror.archlinux32.org/$arch/$repo',
  repositories: ['core', 'extra'],
  keyrings: hostKeyrings('archlinux32'),
  keyringPackages: ['archlinux32-keyring'],
});

export const loongarchlinux = pacman({
  name: 'loongarchlinux',
  aliases: ['loongarch'],
  pretty: 'Loong Arch Linux',
  architectures: { loong64: 'loongarch64' },
  architectureAliases: { loongarch64: 'loong64' },
  // The port publishes no single mirror that kiln can rely on: the user names one.
  defaultMirror: () => undefined,
  repositories: ['core', 'extra'],
  keyrings: hostKeyrings('archlinux'),
  keyringPackages: ['archlinux-keyring'],
});

export const archriscv = pacman({
  name: 'archriscv',
  aliases: ['archlinuxriscv'],
  pretty: 'Arch Linux RISC-V',
  architectures: { riscv64: 'riscv64' },
  architectureAliases: {},
  defaultMirror: () => 'https://riscv.mirror.pkgbuild.com/repo/$repo',
  repositories: ['core', 'extra'],
  // Its packages are signed by Arch Linux developers' keys.
  keyrings: hostKeyrings('archlinux'),
  keyringPackages: ['archlinux-keyring'],
});
