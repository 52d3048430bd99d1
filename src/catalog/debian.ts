import type { Distribution } from './types.ts';
import { hostMirrorFor } from './host.ts';

const DEB_ARCHITECTURES = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  armhf: 'arm',
  armel: 'arm',
  i386: 'i386',
  riscv64: 'riscv64',
  ppc64el: 'ppc64le',
  s390x: 's390x',
  mips64el: 'mips64el',
  loong64: 'loongarch64',
} as const;

/** armhf is ARMv7 with hardware floating point; armel ARMv5TE (the arm32v5 images). */
const DEB_ARM_VERSIONS = { armhf: 'v7', armel: 'v5' } as const;

/** The lib* directories each Debian architecture links into /usr, besides bin, sbin and lib. */
const EXTRA_LIB_LINKS: Record<string, string[]> = {
  amd64: ['lib32', 'lib64', 'libx32'],
  i386: ['lib64', 'libx32'],
  mips64el: ['lib32', 'lib64', 'libo32'],
  ppc64el: ['lib64'],
  s390x: ['lib32'],
};

const mergedUsrLinks = (arch: string) => ['bin', 'sbin', 'lib', ...(EXTRA_LIB_LINKS[arch] ?? [])];

const DEB_ALIASES = { x86_64: 'amd64', aarch64: 'arm64', armv7h: 'armhf', armv7: 'armhf', i686: 'i386', ppc64le: 'ppc64el', loongarch64: 'loong64' };

export const debian: Distribution = {
  name: 'debian',
  aliases: [],
  pretty: 'Debian',
  format: 'deb',
  architectures: DEB_ARCHITECTURES,
  armVersions: DEB_ARM_VERSIONS,
  architectureAliases: DEB_ALIASES,
  releases: ['bullseye', 'bookworm', 'trixie', 'forky', 'sid', 'unstable', 'testing', 'stable'],
  defaultRelease: 'bookworm',
  defaultMirror: () => hostMirrorFor('debian'),
  repositories: ['main'],
  keyrings: ['/usr/share/keyrings/debian-archive-keyring.gpg'],
  alwaysInstall: [],
  mergedUsrLinks: (release, arch) => (release === 'bullseye' ? [] : mergedUsrLinks(arch)),
};

export const ubuntu: Distribution = {
  name: 'ubuntu',
  aliases: [],
  pretty: 'Ubuntu',
  format: 'deb',
  armVersions: { armhf: DEB_ARM_VERSIONS.armhf },
  architectures: { amd64: 'x86_64', arm64: 'aarch64', armhf: 'arm', i386: 'i386', riscv64: 'riscv64', ppc64el: 'ppc64le', s390x: 's390x' },
  architectureAliases: DEB_ALIASES,
  releases: ['jammy', 'noble', 'plucky', 'questing'],
  defaultRelease: 'noble',
  defaultMirror: (arch) =>
    hostMirrorFor('ubuntu') ??
    (arch === 'amd64' || arch === 'i386' ? 'http://archive.ubuntu.com/ubuntu' : 'http://ports.ubuntu.com/ubuntu-ports'),
  repositories: ['main'],
  keyrings: ['/usr/share/keyrings/ubuntu-archive-keyring.gpg'],
  alwaysInstall: [],
  mergedUsrLinks: (_release, arch) => mergedUsrLinks(arch),
};
