/**
 * Alpine Linux: apk packages. Its releases are `edge` and the stable
 * branches `vX.Y`, each a path component of the mirror (no list of them is
 * kept here: a branch is valid by its shape, and the mirror says whether it
 * exists). A mirror is the part before `/$release/$repo/$arch/`, as
 * /etc/apk/repositories lines are written; a user's mirror with placeholders
 * of its own ($release, $repo, $arch) is taken as the whole pattern.
 */
import type { Distribution } from './types.ts';

/** A release Alpine publishes: `edge`, or a stable branch such as `v3.21`. */
export const ALPINE_RELEASE = /^(edge|v\d+\.\d+)$/;

/** Where a mirror's repository directories are, below the mirror's base URL. */
export const ALPINE_REPOSITORY_PATH = '/$release/$repo/$arch';

/** Why `release` is not an Alpine release name, or undefined. */
export function alpineReleaseProblem(release: string): string | undefined {
  return ALPINE_RELEASE.test(release) ? undefined : `"${release}" is not an Alpine release; use "edge" or a stable branch such as "v3.21"`;
}

/** Why a repository cannot be used on a release, or undefined: `testing` exists on edge only. */
export function alpineRepositoryProblem(repository: string, release: string): string | undefined {
  return repository === 'testing' && release !== 'edge' ? `the testing repository exists on edge only, not ${release}` : undefined;
}

export const alpine: Distribution = {
  name: 'alpine',
  aliases: ['alpinelinux'],
  pretty: 'Alpine Linux',
  format: 'apk',
  architectures: {
    x86_64: 'x86_64',
    x86: 'i386',
    aarch64: 'aarch64',
    armv7: 'arm',
    armhf: 'arm',
    riscv64: 'riscv64',
    ppc64le: 'ppc64le',
    s390x: 's390x',
    loongarch64: 'loongarch64',
  },
  // armhf is ARMv6 with hardware floating point (the Raspberry Pi Zero and 1), armv7 ARMv7-A.
  armVersions: { armhf: 'v6', armv7: 'v7' },
  architectureAliases: { amd64: 'x86_64', arm64: 'aarch64', i386: 'x86', i686: 'x86', armv7h: 'armv7', armel: 'armhf', ppc64el: 'ppc64le', loong64: 'loongarch64' },
  releases: ['edge'],
  defaultRelease: 'edge',
  releaseProblem: alpineReleaseProblem,
  defaultMirror: () => 'https://dl-cdn.alpinelinux.org/alpine',
  // main and community on every branch; testing (edge only) is asked for by name in distribution.repositories.
  repositories: ['main', 'community'],
  // apk's own place for trusted keys: a directory of *.rsa.pub.
  keyrings: ['/etc/apk/keys'],
  keyringPackages: ['alpine-keys'],
  baseSets: {
    minimal: ['alpine-base'],
    tiny: ['busybox', 'musl', 'apk-tools', 'alpine-keys'],
    none: [],
  },
  alwaysInstall: [],
  // Alpine keeps /bin, /sbin and /lib as directories (its packages say where files go).
  mergedUsrLinks: () => [],
};
