/**
 * What the apk fixture's repositories hold, per architecture: Alpine's base
 * packages made from real Debian binaries (busybox-static's busybox, musl's
 * libc as /lib/ld-musl-ARCH.so.1) and small packages for the resolver:
 *
 * - hello depends on `so:libhello.so.1` (a so: provider), `cmd:kiln-printf`
 *   (a cmd: provider), `greeting` (a virtual: greeter-fancy, priority 100,
 *   beats greeter-plain, 10), `libhello>=1.2.3_beta2`, kiln-tricky and
 *   kiln-snapshot (several versions each: 2.0_p1-r3 and 1.0_git20240101-r0
 *   are the newest); hello-doc is installed by install_if when hello and
 *   docs are; hello ships an OpenRC service /etc/init.d/hello and a file in
 *   /usr/share/kiln-hooks, which busybox's trigger watches.
 * - busybox: .post-install runs `busybox --install -s` (as Alpine's does) and
 *   leaves /var/lib/kiln-marks/busybox.post-install; .trigger appends its
 *   arguments to /var/lib/kiln-marks/busybox.trigger.
 * - alpine-baselayout: .pre-install leaves a mark, .post-install adds the
 *   user and group kilnsvc (101) to /etc/passwd and /etc/group; /etc/shadow
 *   is 0640 root:42.
 *
 * The realistic variant adds one package per Debian package of REALISTIC_DEBS
 * (its files, merged-/usr, without docs), all of which alpine-base depends on.
 */
import type { ApkEntry, ApkMachine, ApkSpec } from './apk-fixture-package.ts';

export const RELEASE = 'v3.21';
export const REPO = 'main';
/** Debian packages every fixture is made of. */
export const APK_FIXTURE_DEBS = ['busybox-static', 'musl'] as const;
/** Debian package -> Alpine-like package name, for the realistic variant. */
export const REALISTIC_DEBS: Record<string, string> = {
  zlib1g: 'zlib',
  libssl3: 'libssl3',
  openssl: 'openssl',
  'ca-certificates': 'ca-certificates-bundle',
  libcap2: 'libcap2',
  libzstd1: 'zstd-libs',
  'liblz4-1': 'lz4-libs',
  'libbz2-1.0': 'libbz2',
  liblzma5: 'xz-libs',
  libncursesw6: 'ncurses-libs',
  libtinfo6: 'ncurses-terminfo',
  'ncurses-base': 'ncurses-terminfo-base',
  libreadline8: 'readline',
  libffi8: 'libffi',
  libexpat1: 'libexpat',
  tzdata: 'tzdata',
};

/** The binaries a fixture is made from. */
export interface ApkFixtureBins {
  busybox: Buffer;
  musl: Buffer;
  /** Realistic variant: the staged tree of each REALISTIC_DEBS package. */
  staged?: Map<string, ApkEntry[]>;
}

export interface ApkFixtureKeyInfo {
  /** NAME.rsa.pub */
  name: string;
  pem: string;
}

const text = (path: string, body: string, mode = 0o644, group?: [number, string]): ApkEntry => ({ path, type: 'file', data: Buffer.from(body), mode, gid: group?.[0], gname: group?.[1] });
const dir = (path: string, mode = 0o755): ApkEntry => ({ path, type: 'dir', mode });
const link = (path: string, target: string): ApkEntry => ({ path, type: 'symlink', target });

const MARKS = '/var/lib/kiln-marks';
const mark = (what: string) => `/bin/busybox mkdir -p ${MARKS}\necho "${what} $1" > ${MARKS}/${what.replace(' ', '.')}\n`;

export const BUSYBOX_POST_INSTALL = `#!/bin/busybox sh\n# as Alpine's busybox.post-install: the applet links\n/bin/busybox --install -s\n${mark('busybox post-install')}`;
export const BUSYBOX_TRIGGER = `#!/bin/busybox sh\n/bin/busybox mkdir -p ${MARKS}\nfor dir in "$@"; do echo "$dir" >> ${MARKS}/busybox.trigger; done\n`;
export const HOOKS_DIR = 'usr/share/kiln-hooks';
export const SERVICE_USER = 'kilnsvc';

const BASE_DIRS: [string, number][] = [
  ['dev', 0o755], ['etc', 0o755], ['etc/apk', 0o755], ['etc/conf.d', 0o755], ['home', 0o755], ['lib', 0o755], ['media', 0o755], ['mnt', 0o755],
  ['opt', 0o755], ['proc', 0o555], ['root', 0o700], ['run', 0o755], ['srv', 0o755], ['sys', 0o555], ['tmp', 0o1777], ['usr/lib', 0o755],
  ['usr/local', 0o755], ['usr/share', 0o755], [HOOKS_DIR, 0o755], ['var/cache', 0o755], ['var/empty', 0o555], ['var/lib', 0o755], ['var/log', 0o755], ['var/tmp', 0o1777],
];

/** The architectures the fixture's trusted key signs for; FOREIGN_ARCH is one it does not. */
export const KEY_ARCHES: readonly ApkMachine[] = ['aarch64', 'x86_64'];
export const FOREIGN_ARCH = 'riscv64';

/**
 * alpine-keys as aports builds it (main/alpine-keys/APKBUILD): every key once as
 * usr/share/apk/keys/NAME.rsa.pub, each architecture's keys as symlinks
 * usr/share/apk/keys/ARCH/NAME.rsa.pub -> ../NAME.rsa.pub, and the keys of the
 * architecture it was built for in etc/apk/keys (here symlinks into
 * usr/share/apk/keys, as newer releases have them). Per architecture, not noarch,
 * since etc/apk/keys differs. `foreign` (the unknown key) is listed for
 * FOREIGN_ARCH only: a build for x86_64 or aarch64 must not trust it.
 */
export function alpineKeys(machine: ApkMachine, key: ApkFixtureKeyInfo, foreign?: ApkFixtureKeyInfo): ApkSpec {
  const share = 'usr/share/apk/keys';
  const lists: [ApkFixtureKeyInfo, readonly string[]][] = [[key, KEY_ARCHES], ...(foreign ? [[foreign, [FOREIGN_ARCH]] as [ApkFixtureKeyInfo, readonly string[]]] : [])];
  const entries: ApkEntry[] = [dir('etc/apk/keys')];
  for (const [k, arches] of lists) {
    entries.push(text(`${share}/${k.name}`, k.pem));
    for (const a of arches) entries.push(link(`${share}/${a}/${k.name}`, `../${k.name}`));
    if (arches.includes(machine)) entries.push(link(`etc/apk/keys/${k.name}`, `../../../${share}/${k.name}`));
  }
  return { name: 'alpine-keys', version: '2.5-r0', arch: machine, desc: 'Public keys for Alpine Linux packages', license: 'MIT', entries };
}

function basePackages(machine: ApkMachine, bins: ApkFixtureBins, key: ApkFixtureKeyInfo, foreign?: ApkFixtureKeyInfo): ApkSpec[] {
  const libc = `so:libc.musl-${machine}.so.1`;
  return [
    {
      name: 'musl', version: '1.2.5-r8', arch: machine, desc: 'the musl c library (libc) implementation', url: 'https://musl.libc.org/', license: 'MIT',
      provides: [`${libc}=1`],
      entries: [{ path: `lib/ld-musl-${machine}.so.1`, type: 'file', data: bins.musl, mode: 0o755 }, link(`lib/libc.musl-${machine}.so.1`, `ld-musl-${machine}.so.1`)],
    },
    {
      name: 'busybox', version: '1.37.0-r12', arch: machine, desc: 'Size optimized toolbox of many common UNIX utilities', url: 'https://busybox.net/', license: 'GPL-2.0-only',
      depends: [libc], provides: ['/bin/sh', 'cmd:busybox=1.37.0-r12', 'cmd:sh=1.37.0-r12'],
      triggers: ['/bin', '/usr/bin', '/sbin', '/usr/sbin', `/${HOOKS_DIR}`],
      scripts: { 'post-install': BUSYBOX_POST_INSTALL, trigger: BUSYBOX_TRIGGER },
      entries: [{ path: 'bin/busybox', type: 'file', data: bins.busybox, mode: 0o755 }, link('bin/sh', '/bin/busybox'), dir('sbin'), dir('usr/bin'), dir('usr/sbin'), text('etc/securetty', 'console\n')],
    },
    {
      name: 'alpine-baselayout', version: '3.6.8-r1', arch: machine, desc: 'Alpine base dir structure and init scripts', license: 'GPL-2.0-only',
      depends: ['busybox'], replaces: ['alpine-baselayout-data'],
      scripts: {
        'pre-install': `#!/bin/busybox sh\n${mark('alpine-baselayout pre-install')}`,
        // Debian's busybox-static has no adduser/addgroup applets: the user is added by hand, as they would.
        'post-install': `#!/bin/busybox sh\necho '${SERVICE_USER}:x:101:101:${SERVICE_USER}:/var/empty:/sbin/nologin' >> /etc/passwd\necho '${SERVICE_USER}:x:101:' >> /etc/group\n${mark('alpine-baselayout post-install')}`,
      },
      entries: [
        ...BASE_DIRS.map(([p, m]) => dir(p, m)),
        text('etc/hostname', 'localhost\n'),
        text('etc/hosts', '127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n'),
        text('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n'),
        text('etc/group', 'root:x:0:root\nshadow:x:42:\nnogroup:x:65533:\nnobody:x:65534:\n'),
        text('etc/shadow', 'root:*::0:::::\nnobody:!::0:::::\n', 0o640, [42, 'shadow']),
        text('etc/profile', 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'),
        text('etc/shells', '/bin/sh\n'),
      ],
    },
    {
      name: 'alpine-release', version: '3.21.3-r0', arch: machine, desc: 'Alpine release data', license: 'MIT', origin: 'alpine-base',
      entries: [
        text('etc/alpine-release', '3.21.3\n'),
        text('usr/lib/os-release', 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.3\nPRETTY_NAME="Alpine Linux v3.21"\n'),
        link('etc/os-release', '../usr/lib/os-release'),
        text('etc/issue', 'Welcome to Alpine Linux 3.21 (kiln fixture)\n'),
      ],
    },
    alpineKeys(machine, key, foreign),
    {
      name: 'apk-tools', version: '2.14.6-r3', arch: machine, desc: 'Alpine Package Keeper - package manager for alpine (a stand-in script)', license: 'GPL-2.0-only',
      depends: ['musl>=1.2', libc], provides: ['cmd:apk=2.14.6-r3'],
      entries: [text('sbin/apk', '#!/bin/sh\necho "apk-tools 2.14.6 (kiln fixture stand-in)"\n', 0o755), dir('etc/apk/protected_paths.d'), dir('lib/apk/db')],
    },
    {
      name: 'openrc', version: '0.55.1-r2', arch: machine, desc: 'OpenRC manages the services (a busybox-script stand-in)', license: 'BSD-2-Clause',
      depends: ['busybox'], provides: ['cmd:openrc-run=0.55.1-r2'],
      entries: [
        text('sbin/openrc-run', '#!/bin/busybox sh\n# stand-in for openrc-run: runs one function of a service script\nscript="$1"; shift\n. "$script"\n"${1:-start}"\n', 0o755),
        text('etc/rc.conf', 'rc_parallel="NO"\n'),
        dir('etc/init.d'), dir('etc/runlevels/boot'), dir('etc/runlevels/default'), dir('etc/runlevels/nonetwork'), dir('etc/runlevels/shutdown'), dir('etc/runlevels/sysinit'),
      ],
    },
  ];
}

function resolverPackages(machine: ApkMachine): ApkSpec[] {
  const file = (path: string, body: string) => [text(path, body)];
  const versions = (name: string, vs: string[]): ApkSpec[] =>
    vs.map((version) => ({ name, version, arch: 'noarch', desc: `${name}: a version-order probe`, entries: file(`usr/share/${name}/version`, `${version}\n`) }));
  return [
    {
      name: 'hello', version: '2.12.1-r0', arch: machine, desc: 'kiln fixture: says hello', license: 'GPL-3.0-or-later', signature: 'RSA256',
      depends: ['so:libhello.so.1', 'libhello>=1.2.3_beta2', 'greeting', 'cmd:kiln-printf', 'kiln-tricky', 'kiln-snapshot'],
      entries: [
        text('usr/bin/hello', '#!/bin/sh\necho "Hello from the kiln apk fixture"\n', 0o755),
        text(`${HOOKS_DIR}/hello`, 'hello was here\n'),
        text('etc/init.d/hello', '#!/sbin/openrc-run\ndescription="kiln fixture service"\nstart() {\n\t/usr/bin/hello\n}\n', 0o755),
        text('etc/conf.d/hello', '# hello service options\n'),
      ],
    },
    { name: 'docs', version: '0.2-r6', arch: 'noarch', desc: 'Meta package for pulling in all documentation', entries: [] },
    { name: 'hello-doc', version: '2.12.1-r0', arch: 'noarch', desc: 'kiln fixture: says hello (documentation)', origin: 'hello', installIf: ['hello=2.12.1-r0', 'docs'], entries: file('usr/share/doc/hello/README', 'hello says hello\n') },
    ...['1.2.3_beta1-r0', '1.2.3_rc1-r0'].map((version): ApkSpec => ({
      name: 'libhello', version, arch: machine, desc: 'kiln fixture: the hello library', provides: [`so:libhello.so.1=${version.replace(/-r\d+$/, '')}`],
      entries: [text('usr/lib/libhello.so.1.2.3', `libhello ${version}\n`, 0o755), link('usr/lib/libhello.so.1', 'libhello.so.1.2.3')],
    })),
    { name: 'greeter-plain', version: '1.0-r0', arch: 'noarch', desc: 'kiln fixture: a plain greeting', provides: ['greeting=1'], providerPriority: 10, entries: file('usr/share/greeting/plain', 'hi\n') },
    { name: 'greeter-fancy', version: '1.0-r0', arch: 'noarch', desc: 'kiln fixture: a fancy greeting', provides: ['greeting=1'], providerPriority: 100, entries: file('usr/share/greeting/fancy', 'salutations\n') },
    { name: 'kiln-printf', version: '1.0-r0', arch: 'noarch', desc: 'kiln fixture: a cmd: provider', provides: ['cmd:kiln-printf=1.0-r0'], entries: [text('usr/bin/kiln-printf', '#!/bin/sh\nprintf "%s\\n" "$@"\n', 0o755)] },
    ...versions('kiln-tricky', ['1.9-r0', '2.0_rc2-r0', '2.0_p1-r3']),
    ...versions('kiln-snapshot', ['1.0_rc1-r0', '1.0_git20240101-r0']),
  ];
}

/** The names alpine-base depends on (the small fixture's). */
const BASE_DEPENDS = ['alpine-baselayout', 'alpine-keys', 'alpine-release', 'apk-tools', 'busybox', 'musl', 'openrc'];

/** Every package of one architecture's repository. */
export function apkSpecs(machine: ApkMachine, bins: ApkFixtureBins, key: ApkFixtureKeyInfo, foreign?: ApkFixtureKeyInfo): ApkSpec[] {
  const realistic = [...(bins.staged ?? new Map()).entries()].map(([deb, entries]): ApkSpec => ({
    name: REALISTIC_DEBS[deb] ?? deb, version: '1.0-r0', arch: machine, desc: `Debian's ${deb}, repackaged for the kiln apk fixture`, depends: [`so:libc.musl-${machine}.so.1`], entries,
  }));
  const alpineBase: ApkSpec = {
    name: 'alpine-base', version: '3.21.3-r0', arch: 'noarch', desc: 'Meta package for minimal alpine base', entries: [],
    depends: [...BASE_DEPENDS, ...realistic.map((s) => s.name)],
  };
  return [...basePackages(machine, bins, key, foreign), alpineBase, ...resolverPackages(machine), ...realistic];
}

/** What base = "minimal" plus install = ["hello", "docs"] resolves to (the integration test's plan), sorted. */
export const MINIMAL_HELLO_PLAN = [
  ...BASE_DEPENDS, 'alpine-base', 'docs', 'greeter-fancy', 'hello', 'hello-doc', 'kiln-printf', 'kiln-snapshot', 'kiln-tricky', 'libhello',
].sort();
/** The versions chosen where the repository holds several. */
export const NEWEST: Record<string, string> = { libhello: '1.2.3_rc1-r0', 'kiln-tricky': '2.0_p1-r3', 'kiln-snapshot': '1.0_git20240101-r0' };
