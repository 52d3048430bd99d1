/**
 * Every setting kiln has, declared once. Parsing, validation, defaults,
 * environment variables, `kiln config` and the Config type all come from
 * this table.
 */
import { boolean, integer, oneOf, secret, string, stringList, type Kind, type KindValue } from './kinds.ts';
import { DISTRIBUTIONS, findDistribution, hostMachine, readOsRelease, type Distribution } from '../catalog/index.ts';

export const BASE_SETS = ['essential', 'minimal', 'standard'] as const;
export const OUTPUT_FORMATS = ['directory', 'tar', 'tar.gz', 'tar.xz', 'tar.zst'] as const;

/** What a default may look at: the values resolved so far (table order) and the host. */
export interface DefaultContext {
  get(key: string): unknown;
  distribution(): Distribution | undefined;
}

export interface Setting<K extends Kind<unknown>> {
  kind: K;
  help: string;
  /** A fixed default, or one derived from earlier settings and the host; undefined = unset. */
  default?: KindValue<K> | ((ctx: DefaultContext) => KindValue<K> | undefined);
  /** Where a derived default comes from, for `kiln config`. */
  defaultOrigin?: string;
  required?: boolean;
}

/** A setting that always has a value (a default, or required). */
const setting = <K extends Kind<unknown>>(s: Setting<K>): Setting<K> & { optional?: false } => s;
/** A setting that may stay unset. */
const optional = <K extends Kind<unknown>>(s: Omit<Setting<K>, 'default' | 'required'>): Setting<K> & { optional: true } => ({ ...s, optional: true });

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
    kind: string('a mirror URL'),
    help: "Package mirror URL (default: the host's apt sources for the same distribution)",
    default: (ctx) => ctx.distribution()?.defaultMirror(String(ctx.get('distribution.architecture'))),
    defaultOrigin: 'host apt sources',
    required: true,
  }),
  'distribution.components': setting({
    kind: stringList(),
    help: 'Archive components to use',
    default: (ctx) => ctx.distribution()?.components,
    defaultOrigin: 'distribution',
  }),
  'distribution.keyring': setting({
    kind: stringList(undefined, 'a list of keyring file paths'),
    help: 'OpenPGP keyring files trusted to sign the archive',
    default: (ctx) => ctx.distribution()?.keyrings,
    defaultOrigin: 'distribution',
  }),
  'distribution.verify-signatures': setting({
    kind: boolean(),
    help: 'Check the archive signature (turning this off is printed as a warning in every build)',
    default: true,
  }),
  'packages.base': setting({
    kind: oneOf(BASE_SETS),
    help: 'Base package set: essential (Essential: yes), minimal (as mmdebstrap minbase), standard',
    default: 'minimal',
  }),
  'packages.install': setting({
    kind: stringList(),
    help: 'Packages to install on top of the base set',
    default: [],
  }),
  'system.hostname': setting({
    kind: string('a host name'),
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
    kind: string('a file name'),
    help: 'Base name of the outputs (NAME.tar, NAME/ for a directory)',
    default: 'image',
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
  'build.native-perl': setting({
    kind: boolean(),
    help: "Foreign trees: run #!/usr/bin/perl scripts (debconf, deb-systemd-helper) with the host's perl when it is the same Perl version (much faster than emulating them)",
    default: true,
  }),
  'build.jobs': setting({
    kind: integer(1, 64),
    help: 'Parallel downloads',
    default: 8,
  }),
  'build.workspace': setting({
    kind: oneOf(['tmpfs', 'disk'] as const),
    help: 'Where the tree is assembled: a tmpfs private to the build (fast, vanishes if killed) or the output directory',
    default: 'tmpfs',
  }),
  'build.cache-directory': optional({
    kind: string('a directory path'),
    help: 'Download and tools cache (default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln)',
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

/** KILN_DISTRIBUTION_RELEASE for distribution.release. */
export function envName(key: SettingKey): string {
  return `KILN_${key.replace(/[.-]/g, '_').toUpperCase()}`;
}
