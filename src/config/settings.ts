/**
 * Every setting kiln has, declared once. Parsing, validation, defaults,
 * environment variables, `kiln config` and the Config type all come from
 * this table.
 */
import { existsSync } from 'node:fs';
import { boolean, duration, integer, oneOf, path, records, secret, size, string, stringList, stringMap, type Kind, type KindValue } from './kinds.ts';
import { accountId, fileName, hostname, url, urlPattern, userName, userOrId } from './name-kinds.ts';
import { HOOK_STAGES } from '../pipeline/stage-names.ts';
import { PRUNE_PRESET_NAMES } from '../pipeline/prune-presets.ts';
import { FORMAT_FACTS } from '../formats/facts.ts';
import { OUTPUT_FORMATS, type OutputFormat } from '../outputs/registry.ts';
import { setting, optional, type DefaultContext, type Setting } from './setting.ts';
import { IMAGE_SETTINGS } from './settings-image.ts';
import { BOOT_SETTINGS } from './settings-boot.ts';
import { LOCK_SETTINGS } from './settings-lock.ts';
import { BOARDS, DISTRIBUTIONS, findDistribution, hostMachine, readOsRelease, type BaseSetName, type Distribution } from '../catalog/index.ts';

export const BASE_SETS = ['essential', 'minimal', 'standard', 'tiny', 'none'] as const satisfies readonly BaseSetName[];

/** The fields of a third-party repository (distribution.extra-repositories); `tag` is apk's alone. */
const EXTRA_REPOSITORY_FIELDS = {
  name: { kind: string('a repository name'), required: true },
  server: { kind: urlPattern(), required: true },
  keyring: { kind: stringList(path('file'), 'a list of key file paths') },
  'keyring-package': { kind: string('a package name') },
  architectures: { kind: stringList() },
  'signature-level': { kind: oneOf(['required', 'never'] as const) },
  tag: { kind: string('a repository tag such as edge') },
} as const;
/** The fields of an inline hook ([[hook]]). */
const INLINE_HOOK_FIELDS = {
  stage: { kind: oneOf(HOOK_STAGES), required: true },
  name: { kind: fileName('a file name such as 10-motd') },
  run: { kind: string('a shell script'), required: true },
  chroot: { kind: boolean() },
} as const;
/** The fields of a user account ([[user]]). */
const USER_FIELDS = {
  name: { kind: userName(), required: true },
  uid: { kind: accountId('uid') },
  group: { kind: userOrId('a group name or number') },
  groups: { kind: stringList(userName('a group name'), 'a list of group names') },
  comment: { kind: string('a full name or comment') },
  home: { kind: string('a directory in the image') },
  shell: { kind: string('a path in the image') },
  system: { kind: boolean() },
  'password-hash': { kind: secret('a crypt(3) hash') },
  password: { kind: secret('a password') },
  locked: { kind: boolean() },
  'ssh-authorized-keys': { kind: stringList(undefined, 'a list of public keys') },
} as const;

/** The fields of a group ([[group]]). */
const GROUP_FIELDS = {
  name: { kind: userName('a group name'), required: true },
  gid: { kind: accountId('gid') },
  members: { kind: stringList(userName(), 'a list of user names') },
  system: { kind: boolean() },
} as const;

/** build.source-date-epoch: a number of seconds, or where to take it from. */
function sourceDateEpoch(): Kind<number | 'release' | 'newest-package'> {
  const modes = ['release', 'newest-package'] as const;
  const describe = `a number of seconds since 1970, ${modes.map((m) => `"${m}"`).join(' or ')}`;
  return {
    describe,
    parse: (v, text) => {
      const n = text && typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return { value: n };
      if (typeof v === 'string' && (modes as readonly string[]).includes(v)) return { value: v as (typeof modes)[number] };
      return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    },
  };
}

/** The output formats are the output registry's names (src/outputs/registry.ts), not a list kept here. */
export { OUTPUT_FORMATS, type OutputFormat };
export type { DefaultContext, Setting };

const distributionNames = Object.values(DISTRIBUTIONS).flatMap((d) => [d.name, ...d.aliases]);

export const SETTINGS = {
  'distribution.name': setting({
    kind: oneOf(distributionNames as [string, ...string[]]),
    help: 'Distribution to build',
    default: () => {
      const host = readOsRelease();
      return host.id && findDistribution(host.id) ? host.id : 'debian';
    },
    defaultOrigin: 'host /etc/os-release',
  }),
  'distribution.release': setting({
    kind: string('a release name (codename)'),
    help: 'Release (suite) to build, e.g. bookworm',
    default: (ctx) => {
      const host = readOsRelease();
      const dist = ctx.distribution();
      return host.id === dist?.name && host.codename ? host.codename : dist?.defaultRelease;
    },
    defaultOrigin: 'host /etc/os-release, else the distribution',
  }),
  'distribution.architecture': setting({
    kind: string('an architecture name'),
    help: "Target architecture, in the distribution's naming (amd64, arm64, ...); x86_64/aarch64 are accepted",
    default: (ctx) => {
      const dist = ctx.distribution();
      const machine = hostMachine();
      return dist && Object.entries(dist.architectures).find(([, m]) => m === machine)?.[0];
    },
    defaultOrigin: 'host',
  }),
  'distribution.mirror': setting({
    kind: url('a mirror URL'),
    help: "Package mirror URL; for the Arch family a pattern with $repo and $arch (default: Debian/Ubuntu: the host's apt sources; Arch: the distribution's published mirror)",
    default: (ctx) => ctx.distribution()?.defaultMirror(String(ctx.get('distribution.architecture'))),
    defaultOrigin: 'host apt sources or the distribution',
    required: true,
  }),
  'distribution.repositories': setting({
    kind: stringList(),
    help: 'Repositories to use, in search order: archive components for Debian/Ubuntu (main, contrib, ...), pacman repositories for the Arch family (core, extra, ...)',
    default: (ctx) => ctx.distribution()?.repositories,
    defaultOrigin: 'distribution',
  }),
  'distribution.repository-mirrors': setting({
    kind: stringMap('a table of repository name = mirror URL', urlPattern()),
    help: 'pacman: a mirror URL pattern for single repositories ($repo, $arch), overriding distribution.mirror for them',
    default: {},
  }),
  'distribution.extra-repositories': setting({
    kind: records(EXTRA_REPOSITORY_FIELDS, 'a list of repository tables'),
    help: 'pacman and Alpine: third-party repositories searched after the distribution\'s: { name, server (URL with $repo/$arch), keyring (key file), keyring-package, architectures, signature-level; Alpine: tag, used only for packages.install items NAME@TAG }',
    default: [],
  }),
  'distribution.keyring': setting({
    kind: stringList(path('any'), 'a list of keyring file paths'),
    help: "OpenPGP keyring files trusted to sign the archive; Alpine: *.rsa.pub key files or directories of them (default: the host's keyring for the distribution; Alpine: /etc/apk/keys)",
    default: (ctx) => {
      const dist = ctx.distribution();
      if (!dist || FORMAT_FACTS[dist.format].defaultKeyring === 'every') return dist?.keyrings;
      // The host's copy of the distribution's keyring, if it has one; else none (see keyring-bootstrap).
      const found = dist.keyrings.find((path) => existsSync(path));
      return found ? [found] : [];
    },
    defaultOrigin: 'host keyring of the distribution',
  }),
  'distribution.keyring-bootstrap': setting({
    kind: oneOf(['none', 'trust-first-download'] as const),
    help: 'pacman and Alpine, with no keyring on the host or in the config: trust-first-download takes the keyring package (Alpine: alpine-keys) from the mirror unverified (printed as a warning) and checks everything else with it',
    default: 'none',
  }),
  'distribution.verify-signatures': setting({
    kind: boolean(),
    help: 'Check the archive signature (turning this off is printed as a warning in every build)',
    default: true,
  }),
  'distribution.check-valid-until': setting({
    kind: boolean(),
    help: "Refuse a signed index whose Valid-Until has passed, as apt does (false: accept it, e.g. for a snapshot archive; printed as a warning in every build)",
    default: true,
  }),
  'distribution.check-date': setting({
    kind: boolean(),
    help: "Refuse a signed index dated more than 10 s ahead of this machine's clock, as apt does (false also turns off check-valid-until; printed as a warning in every build)",
    default: true,
  }),
  'board.name': optional({
    kind: oneOf(Object.keys(BOARDS) as [string, ...string[]]),
    help: `Board the image is for: sets the architecture and adds its kernel and firmware packages (${Object.keys(BOARDS).join(', ')})`,
  }),
  'packages.base': setting({
    kind: oneOf(BASE_SETS),
    help: 'Base package set: essential (Debian: Essential: yes), minimal (Debian: as mmdebstrap minbase; Arch: base; Alpine: alpine-base), standard, tiny (Alpine: busybox, musl, apk-tools, alpine-keys), or none (exactly packages.install, nothing implied: no base set, no keyring package unless keyring-bootstrap takes the keys from it)',
    default: 'minimal',
  }),
  'packages.install': setting({
    kind: stringList(),
    help: 'Packages to install on top of the base set',
    default: [],
  }),
  'system.hostname': setting({
    kind: hostname(),
    help: 'Host name written to /etc/hostname',
    default: (ctx) => ctx.distribution()?.name ?? 'kiln',
    defaultOrigin: 'distribution name',
  }),
  'system.root-password': optional({
    kind: secret('a password'),
    help: 'Root password (hashed in the image); unset with no hash = root locked',
  }),
  'system.root-password-hash': optional({
    kind: secret('a crypt(3) hash'),
    help: 'Root password as a crypt(3) hash for /etc/shadow',
  }),
  'system.root-ssh-keys': setting({
    kind: stringList(undefined, 'a list of public keys'),
    help: "SSH public keys allowed to log in as root (/root/.ssh/authorized_keys)",
    default: [],
  }),
  'system.locale': optional({
    kind: string('a locale such as en_US.UTF-8'),
    help: 'System locale: /etc/locale.conf and /etc/default/locale; generated with the image\'s locale-gen when it has one',
  }),
  'system.timezone': optional({
    kind: string('a zone such as Europe/Berlin'),
    help: 'Time zone: /etc/localtime (from the image\'s tzdata) and /etc/timezone',
  }),
  'system.keyboard': optional({
    kind: string('a keymap such as de or us'),
    help: 'Console keymap (/etc/vconsole.conf) and XKB layout (/etc/default/keyboard where the image has it)',
  }),
  'users.accounts': setting({
    kind: records(USER_FIELDS, 'a list of [[user]] tables'),
    help: 'Users, written as [[user]] tables: name, uid, group, groups, comment, home, shell, system, password-hash or password or locked (default), ssh-authorized-keys; they add up across layers',
    default: [],
  }),
  'users.groups': setting({
    kind: records(GROUP_FIELDS, 'a list of [[group]] tables'),
    help: 'Groups, written as [[group]] tables: name, gid, members, system; they add up across layers',
    default: [],
  }),
  'services.enable': setting({
    kind: stringList(undefined, 'a list of systemd units or OpenRC services'),
    help: "Services to enable: systemd units (the image's systemctl, offline), or OpenRC services as NAME (runlevel default) or NAME@RUNLEVEL (boot, sysinit, shutdown, ...)",
    default: [],
  }),
  'services.disable': setting({
    kind: stringList(undefined, 'a list of systemd units or OpenRC services'),
    help: 'Services to disable: systemd units, or OpenRC services as NAME (every runlevel) or NAME@RUNLEVEL',
    default: [],
  }),
  'overlay.skeleton': optional({
    kind: path('any', 'a directory or a tar archive', { wholeTree: true }),
    help: 'Files copied into the tree before any package is installed (a directory, or a tar whose owners are kept)',
  }),
  'overlay.extra': optional({
    kind: path('any', 'a directory or a tar archive', { wholeTree: true }),
    help: 'Files copied into the tree after the packages are installed and configured (a directory, or a tar whose owners are kept)',
  }),
  'overlay.layers': setting({
    kind: stringList(undefined, 'a list of tar files, relative to the image directory'),
    help: 'Tars applied at the end of customize, in order, with OCI whiteouts (.wh.NAME removes NAME): what kiln shell --save writes',
    default: [],
  }),
  'overlay.owner': setting({
    kind: string('user:group (names or numbers)'),
    help: "Owner of the files copied from an overlay directory (a tar's own owners are kept)",
    default: '0:0',
  }),
  'overlay.owners': setting({
    kind: stringMap('a table of image path = "user:group"'),
    help: 'Owners for paths of the overlays (and everything below them), e.g. { "/home/pi" = "pi:pi" }',
    default: {},
  }),
  'prune.presets': setting({
    kind: stringList(oneOf(PRUNE_PRESET_NAMES), `a list of ${PRUNE_PRESET_NAMES.join(', ')}`),
    help: `Named sets of paths removed in the prune stage, before prune.remove: ${PRUNE_PRESET_NAMES.join(', ')}`,
    default: [],
  }),
  'prune.keep-locales': setting({
    kind: stringList(undefined, 'a list of locale names such as en_US'),
    help: 'Locales the "locales" preset keeps: a name keeps itself and its variants (en keeps en_US, en_US keeps en_US.UTF-8)',
    default: ['C', 'en_US'],
  }),
  'prune.remove': setting({
    kind: stringList(undefined, 'a list of paths in the image (* and ** match)'),
    help: 'Files and directories removed from the image in the prune stage, e.g. /usr/share/doc/*, /usr/share/locale/**/*.mo',
    default: [],
  }),
  'hooks.inline': setting({
    kind: records(INLINE_HOOK_FIELDS, 'a list of [[hook]] tables'),
    help: `Inline hooks, written as [[hook]] tables: stage (${HOOK_STAGES.join(', ')}), name, run (a shell script), chroot (run inside the image); they add up across layers`,
    default: [],
  }),
  'output.format': setting({
    kind: stringList(oneOf(OUTPUT_FORMATS), `a list of ${OUTPUT_FORMATS.join(', ')}`),
    help: `Outputs to write: ${OUTPUT_FORMATS.join(', ')}`,
    default: ['tar'],
  }),
  'output.directory': setting({
    kind: string('a directory path'),
    help: 'Directory the outputs are written to (relative to the image directory)',
    default: 'out',
  }),
  'output.name': setting({
    kind: fileName(),
    help: 'Base name of the outputs (NAME.tar, NAME/ for a directory)',
    default: 'image',
  }),
  ...IMAGE_SETTINGS,
  ...BOOT_SETTINGS,
  ...LOCK_SETTINGS,
  'build.source-date-epoch': setting({
    kind: sourceDateEpoch(),
    help: "The date of the image (seconds since 1970): it clamps every timestamp and is every date the package scripts write (SOURCE_DATE_EPOCH); \"release\": the archive's Release date (pacman: the newest package's build date); \"newest-package\": the newest package's build date, where the index carries it (pacman)",
    default: 'release',
    environment: 'SOURCE_DATE_EPOCH',
  }),
  'build.seed': setting({
    kind: string('any text'),
    help: 'Every generated UUID and volume id derives from it (disk GUID, PARTUUIDs, filesystem UUIDs, the MBR signature, vfat volume ids); changing it changes them all and nothing else',
    default: (ctx) => (ctx.get('disk.seed') as string | undefined) ?? ['kiln', ctx.distribution()?.name, ctx.get('distribution.release'), ctx.get('distribution.architecture'), ctx.get('board.name') ?? '-', ctx.get('output.name')].join(' '),
    defaultOrigin: "disk.seed when set (deprecated), else the image's identity: distribution, release, architecture, board, output.name",
  }),
  'build.binfmt': setting({
    kind: oneOf(['auto', 'namespace', 'host'] as const),
    help: "Foreign binaries: register QEMU in the build's own binfmt_misc (namespace, Linux >= 6.7) or use the host's registration",
    default: 'auto',
  }),
  'build.emulator': setting({
    kind: oneOf(['auto', 'download'] as const),
    help: "QEMU user emulator for foreign architectures: the host's qemu-user-static if installed (auto), or always kiln's own copy from a Debian archive (download)",
    default: 'auto',
  }),
  'build.emulation': setting({
    kind: oneOf(['native-twins', 'full'] as const),
    help: "Foreign Debian and Arch-family trees: run the programs package scripts start most (sh, coreutils, sed, grep, busybox's pure applets, ...) from native twins of exactly the tree's versions, everything else under QEMU (native-twins), or everything under QEMU (full). The image is the same either way (tested)",
    default: 'native-twins',
  }),
  'build.twin-mirror': optional({
    kind: urlPattern(),
    help: "Where native twins come from: the same repositories for the host's architecture, as a mirror URL (the Arch family: a pattern with $repo and $arch). Unset: distribution.mirror, or, when that is the distribution's default for the target's architecture, its default for the host's (Ubuntu: the archive for amd64 beside ports). Arch Linux ARM's mirrors have no x86_64: point this at an Arch Linux mirror and build.twin-keyring at its keyring to have twins there",
  }),
  'build.twin-keyring': optional({
    kind: stringList(path('any'), 'a list of keyring file paths'),
    help: "The keys trusted to sign the native twins and their repositories, as distribution.keyring takes them (OpenPGP keyring files; apk: directories or files of *.rsa.pub) (unset: distribution.keyring; with build.twin-mirror on another distribution's mirror, that distribution's keyring)",
  }),
  'build.native-perl': setting({
    kind: boolean(),
    help: "Foreign trees: run #!/usr/bin/perl scripts (debconf, deb-systemd-helper) with the host's perl when it is the same Perl version (much faster than emulating them)",
    default: true,
  }),
  'build.network': setting({
    kind: boolean(),
    help: "Commands in the tree (package scripts, .chroot hooks, kiln shell) keep the host's network; false: a network namespace of their own with only a loopback that is down",
    default: false,
  }),
  'build.process-limit': setting({
    kind: integer(64, 1048576),
    help: "Most processes (and threads) root of the build's namespace may have while a command runs in the tree (RLIMIT_NPROC; not enforced when kiln runs as real root)",
    default: 1024,
  }),
  'build.jobs': setting({
    kind: integer(1, 64),
    help: 'Parallel downloads',
    default: 8,
  }),
  'build.download-min-rate': setting({
    kind: size(),
    help: 'A download slower than this many bytes per second over build.download-min-rate-window is given up on that mirror (the next one is tried), e.g. 1K, 50K; 0: no minimum',
    default: 1024,
  }),
  'build.download-min-rate-window': setting({
    kind: duration(),
    help: 'The window over which build.download-min-rate is measured, e.g. 30s, 1m',
    default: 30,
  }),
  'build.download-timeout': setting({
    kind: duration(),
    help: 'The longest one file may take to download from one mirror, retries included, e.g. 30m, 2h',
    default: 30 * 60,
  }),
  'build.workspace': setting({
    kind: oneOf(['tmpfs', 'disk'] as const),
    help: 'Where the tree is assembled: a tmpfs private to the build (fast, vanishes if killed) or the output directory',
    default: 'tmpfs',
  }),
  'build.cache-directory': optional({
    kind: string('a directory path'),
    help: 'Downloads, plans, checkpoints and tools (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)',
  }),
  'build.checkpoints': setting({
    kind: boolean(),
    help: 'Store the tree after configure, customize, prune and finalize, so that later builds resume from it (false: a one-off build, about a second faster)',
    default: true,
  }),
  'build.checkpoint-limit': setting({
    kind: size(),
    help: 'After each build, the least recently used checkpoints are removed until the rest fit in this size (e.g. 500M, 4G; 0 keeps none)',
    default: 4 * 1024 ** 3,
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
/** The merged configuration; a setting with a default (or required) always has a value. */
export type Config = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { optional: true }
    ? KindValue<(typeof SETTINGS)[K]['kind']> | undefined
    : KindValue<(typeof SETTINGS)[K]['kind']>;
};

export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The sections the table declares (`distribution`, `packages`, ...). */
export type SettingSection = SettingKey extends `${infer S}.${string}` ? S : never;

/** The variable of a setting's environment layer: its own (SOURCE_DATE_EPOCH), else KILN_SECTION_KEY. */
export function environmentName(key: SettingKey): string {
  return (SETTINGS[key] as { environment?: string }).environment ?? envName(key);
}

/** KILN_DISTRIBUTION_RELEASE for distribution.release. */
export function envName(key: SettingKey): string {
  return `KILN_${key.replace(/[.-]/g, '_').toUpperCase()}`;
}
