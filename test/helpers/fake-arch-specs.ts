/**
 * What the fake Arch repositories hold: filesystem, glibc, bash and busybox
 * from Debian binaries, toybox (conflicts with busybox), an alpm hook and the
 * files that trigger it (its scriptlet and hook start busybox's sed, sha256sum
 * and wc: what native twins run natively in a foreign build), a group of two, the keyring package with the
 * throwaway key, `base`, and one package per member of a Debian set.
 */
import type { DebianSetPackage } from './fake-arch-debian-set.ts';
import type { FakeArchSpec } from './fake-arch-package.ts';
import type { FakeArchMachine, FakeArchPackage } from './fake-arch-types.ts';
import type { FixtureDeb } from './fixture-debs.ts';
import type { FixtureEntry } from './fixture-tree.ts';

/** The Debian packages the small fixture is made of. */
export const FAKE_ARCH_DEBS = ['busybox-static', 'libc6', 'bash', 'libtinfo6'];

/** Debian [epoch:]upstream-revision → Arch [epoch:]pkgver-pkgrel (pkgrel = the revision's leading number). */
export function archVersion(debian: string): string {
  const m = /^(?:(\d+):)?(.+?)(?:-([^-]+))?$/.exec(debian);
  if (!m) throw new Error(`not a Debian version: ${debian}`);
  const pkgver = (m[2] as string).replace(/[^A-Za-z0-9._+]/g, '_');
  return `${m[1] ? `${m[1]}:` : ''}${pkgver}-${/^\d+/.exec(m[3] ?? '')?.[0] ?? '1'}`;
}

const HOOK = `[Trigger]
Type = Path
Operation = Install
Target = usr/share/kiln-marks/*

[Action]
Description = Recording the kiln-marks files for the kiln tests...
When = PostTransaction
Exec = /bin/sh -c 'while read -r f; do echo "$f"; done > /var/lib/kiln-test/hook-ran; [ ! -x /usr/bin/busybox ] || /usr/bin/busybox wc -l < /var/lib/kiln-test/hook-ran > /var/lib/kiln-test/hook-ran-count'
NeedsTargets
`;

const BASH_INSTALL = `post_install() {
  echo "bash post_install $1" > /var/lib/kiln-test/bash-post-install
}
`;

/** pre_install lives here, not in bash: pacman runs scriptlets with /bin/sh, which bash's own pre_install would not find. */
const HOOK_INSTALL = `pre_install() {
  echo "kiln-hook pre_install $1" > /var/lib/kiln-test/kiln-hook-pre-install
}

post_install() {
  echo "kiln-hook post_install $1" > /var/lib/kiln-test/kiln-hook-post-install
  # Programs a scriptlet starts (native twins run them natively in a foreign build); with packages.base = "none" there is no busybox.
  [ ! -x /usr/bin/busybox ] || /usr/bin/busybox sed -n 's/^Description = //p' /usr/share/libalpm/hooks/50-kiln-test.hook | /usr/bin/busybox sha256sum > /var/lib/kiln-test/kiln-hook-description
}
`;

/** The packages of one layout and architecture; `keyring` names the keyring package and its files (archlinux, archlinuxarm). */
export function fakeArchSpecs(machine: FakeArchMachine, keyring: string, debs: FixtureDeb[], key: { armored: string; fingerprint: string }): FakeArchSpec[] {
  const version = (name: string) => archVersion(debs.find((d) => d.name === name)?.version ?? '0');
  const dirs = (mode: number, ...paths: string[]) => Object.fromEntries(paths.map((p) => [p, { dir: true, mode } as FixtureEntry]));
  return [
    {
      name: 'filesystem', version: '2025.05.20-1', arch: machine, desc: 'Base merged-/usr file system layout', repo: { arch: 'core', alarm: 'core' },
      backup: ['etc/passwd', 'etc/group', 'etc/shadow', 'etc/gshadow', 'etc/hosts', 'etc/shells'],
      tree: {
        ...dirs(0o755, 'etc', 'var', 'var/lib', 'var/cache', 'var/log', 'home', 'usr', 'usr/bin', 'usr/lib', 'usr/share', 'run', 'dev'),
        ...dirs(0o555, 'proc', 'sys'),
        ...dirs(0o1777, 'tmp', 'var/tmp'),
        root: { dir: true, mode: 0o750 },
        bin: { link: 'usr/bin' }, sbin: { link: 'usr/bin' }, lib: { link: 'usr/lib' }, 'usr/sbin': { link: 'bin' },
        ...(machine === 'x86_64' ? { lib64: { link: 'usr/lib' } } : {}),
        'etc/passwd': { text: 'root:x:0:0::/root:/bin/bash\nnobody:x:65534:65534:Nobody:/:/usr/bin/nologin\n' },
        'etc/group': { text: 'root:x:0:root\nnobody:x:65534:\n' },
        'etc/shadow': { text: 'root:*:20000::::::\nnobody:!*:20000::::::\n', mode: 0o600 },
        'etc/gshadow': { text: 'root:::root\nnobody:!::\n', mode: 0o600 },
        'etc/hosts': { text: '127.0.0.1 localhost\n::1 localhost\n' },
        'etc/shells': { text: '/bin/sh\n/bin/bash\n/usr/bin/sh\n/usr/bin/bash\n' },
        // The same in both layouts: a package is built once per name, version and architecture.
        'usr/lib/os-release': { text: 'NAME="Arch Linux (kiln test)"\nID=arch\nPRETTY_NAME="Arch Linux (kiln test)"\n' },
        'etc/os-release': { link: '../usr/lib/os-release' },
      },
    },
    { name: 'glibc', version: version('libc6'), arch: machine, desc: 'GNU C Library (Debian libc6)', repo: { arch: 'core', alarm: 'core' }, debs: ['libc6'], depends: ['filesystem'], provides: ['libc.so=6-64'] },
    {
      name: 'bash', version: version('bash'), arch: machine, desc: 'GNU Bourne Again shell (Debian bash, libtinfo6)', repo: { arch: 'core', alarm: 'core' },
      debs: ['bash', 'libtinfo6'], depends: ['glibc', 'libc.so=6-64'], provides: ['sh'], install: BASH_INSTALL,
      tree: { 'usr/bin/sh': { link: 'bash' }, 'var/lib/kiln-test': { dir: true, mode: 0o755 } },
    },
    {
      name: 'busybox', version: version('busybox-static'), arch: machine, desc: 'Utilities for rescue and embedded systems (Debian busybox-static)', repo: { arch: 'extra', alarm: 'extra' },
      debs: ['busybox-static'], provides: [`sh=${version('busybox-static').replace(/^\d+:/, '').replace(/-[^-]*$/, '')}`], conflicts: ['toybox'],
    },
    { name: 'toybox', version: '0.8.9-1', arch: 'any', desc: 'Stands in for busybox (conflicts with it)', repo: { arch: 'extra', alarm: 'extra' }, conflicts: ['busybox'], tree: { 'usr/share/toybox/README': { text: 'toybox for kiln tests\n' } } },
    { name: 'kiln-hook', version: '1.0-1', arch: 'any', desc: 'An alpm hook that records kiln-marks files', repo: { arch: 'extra', alarm: 'alarm' }, depends: ['bash'], install: HOOK_INSTALL, tree: { 'usr/share/libalpm/hooks/50-kiln-test.hook': { text: HOOK } } },
    {
      name: 'kiln-marks', version: '1.0-1', arch: 'any', desc: 'Files that trigger the kiln-hook', repo: { arch: 'extra', alarm: 'extra' }, groups: ['kiln-group'], depends: ['sh>=1.0'],
      tree: { 'usr/share/kiln-marks/first': { text: 'first mark\n' }, 'usr/share/kiln-marks/second': { text: 'second mark\n' } },
    },
    { name: 'kiln-extra-tool', version: '2.1-3', arch: 'any', desc: 'A second member of kiln-group', repo: { arch: 'extra', alarm: 'extra' }, groups: ['kiln-group'], tree: { 'usr/share/kiln-extra-tool/README': { text: 'extra tool\n' } } },
    {
      name: `${keyring}-keyring`, version: '20250520-1', arch: 'any', desc: 'Throwaway packager key for kiln tests', repo: { arch: 'core', alarm: 'alarm' },
      tree: {
        [`usr/share/pacman/keyrings/${keyring}.gpg`]: { text: key.armored },
        [`usr/share/pacman/keyrings/${keyring}-trusted`]: { text: `${key.fingerprint}:4:\n` },
        [`usr/share/pacman/keyrings/${keyring}-revoked`]: { text: '' },
      },
    },
    {
      name: 'base', version: '3-1', arch: 'any', desc: 'Minimal package set for a kiln test system', repo: { arch: 'core', alarm: 'core' },
      depends: ['filesystem', 'glibc', 'bash', 'busybox', ...debs.flatMap((d) => (d.set?.root ? [d.name] : []))],
    },
    ...debs.flatMap((d): FakeArchSpec[] => (d.set ? [debianSetSpec(d.set, machine)] : [])),
  ];
}

/** A package of the Debian set: the .deb's files, merged-/usr, and its dependencies by pacman name. */
function debianSetSpec(set: DebianSetPackage, machine: FakeArchMachine): FakeArchSpec {
  return { name: set.name, version: archVersion(set.version), arch: set.any ? 'any' : machine, desc: `Debian ${set.name} ${set.version}`, repo: { arch: 'core', alarm: 'core' }, debs: [set.name], depends: set.depends };
}

/** The names `base` pulls in: by name first, else the first provider (versions ignored; pacman -Sp in the test confirms). */
export function closure(packages: FakeArchPackage[], root: string): string[] {
  const seen = new Set<string>();
  const visit = (relation: string): void => {
    const name = relation.replace(/[<>=].*$/, '');
    const pkg = packages.find((p) => p.name === name) ?? packages.find((p) => p.provides.some((q) => q.replace(/=.*$/, '') === name));
    if (!pkg || seen.has(pkg.name)) return;
    seen.add(pkg.name);
    pkg.depends.forEach(visit);
  };
  visit(root);
  return [...seen].sort();
}
