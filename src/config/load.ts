/**
 * Loading the configuration, layer by layer (lowest first): built-in
 * defaults and the distribution's, the board, kiln.toml, kiln.conf.d/*.toml
 * (lexical order), profiles/NAME.toml (--profile, in the order given),
 * kiln.local.toml, the private layer (kiln.private.toml), the environment
 * (KILN_*) and --set. Every value remembers where it came from; every
 * problem is collected and reported together.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SETTINGS, SETTING_KEYS, type Config, type SettingKey } from './settings.ts';
import { readEnvironmentLayer, readSetLayer, readTomlLayer, SHOWN_PROBLEMS, type Condition, type Entry, type Problems } from './layers.ts';
import { Resolver, type Resolved } from './resolve.ts';
import { urlPatternProblem } from './name-kinds.ts';
import { checkPaths } from './check-paths.ts';
import { boardPackages, canonicalArchitecture, findBoard, findDistribution, type Board, type Distribution } from '../catalog/index.ts';
import { FORMAT_FACTS, settingOwners } from '../formats/facts.ts';
import { UserError } from '../util/errors.ts';

export interface LoadOptions {
  /** The image directory (-C). */
  dir: string;
  /** `--set key=value` arguments, in order. */
  sets?: string[];
  /** `--profile NAME` arguments, in order (after those in $KILN_PROFILE). */
  profiles?: string[];
  /** The private layer's file (default: kiln.private.toml in the image directory). */
  privateFile?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  origins: Record<SettingKey, string>;
  /** List settings: where each item came from (`kiln.toml:7`, `board raspberrypi-4`, `--set`), for messages about one item. */
  itemOrigins: Partial<Record<SettingKey, Record<string, string>>>;
  /** Settings whose values must never be printed or stored (secrets, values from the private layer). */
  private: SettingKey[];
  dir: string;
  distribution: Distribution;
  board?: Board;
  profiles: string[];
  /** The configuration files read, lowest layer first. */
  files: string[];
}

/** Several problems found at once: each is one `where: key: problem` line; the first SHOWN_PROBLEMS are printed. */
export class ConfigError extends UserError {
  /** `omitted`: problems counted but not written out (beyond those any one file shows). */
  constructor(
    readonly problems: string[],
    omitted = 0,
  ) {
    const shown = problems.slice(0, SHOWN_PROBLEMS);
    const more = problems.length - shown.length + omitted;
    const total = problems.length + omitted;
    if (more > 0) shown.push(`... and ${more} more problem${more > 1 ? 's' : ''} not shown`);
    super(shown.join('\n'), total > 1 ? `${total} problems in the configuration${more > 0 ? `; the first ${shown.length - 1} are shown` : ''}` : undefined);
    this.name = 'ConfigError';
  }
}

export const CONFIG_FILE = 'kiln.toml';
export const CONFIG_DROPINS = 'kiln.conf.d';
export const PROFILES_DIR = 'profiles';
export const LOCAL_FILE = 'kiln.local.toml';
export const PRIVATE_FILE = 'kiln.private.toml';

export function loadConfig(opts: LoadOptions): LoadedConfig {
  const env = opts.env ?? process.env;
  const problems: Problems = [];
  const profiles = [...new Set([...(env.KILN_PROFILE ?? '').split(/[\s,]+/).filter(Boolean), ...(opts.profiles ?? [])])];
  const files = layerFiles(opts, profiles, problems);
  const tally = { omitted: 0 };
  const entries = [
    ...files.flatMap((f) => readTomlLayer(f.file, problems, { ...f, tally })),
    ...readEnvironmentLayer(env),
    ...readSetLayer(opts.sets ?? [], problems),
  ];
  const { resolver, identity } = settle(entries, profiles, problems);
  const distribution = identity.distribution;
  const resolved = new Map<SettingKey, Resolved>();
  for (const key of SETTING_KEYS) {
    const r = resolver.get(key);
    if (r) resolved.set(key, r);
  }
  problems.push(...resolver.problems);
  if (!distribution) throw new ConfigError(sortByLocation(problems), tally.omitted);
  const values = new Map([...resolved].map(([k, r]) => [k, r.value]));
  const origins = Object.fromEntries([...resolved].map(([k, r]) => [k, r.origin])) as Record<SettingKey, string>;
  const fromUser = (key: SettingKey) => resolved.get(key)?.fromUser ?? false;
  checkCrossSettings(values, origins, fromUser, resolver.failed, distribution, problems);
  checkPaths(opts.dir, resolved, problems);
  if (problems.length || tally.omitted) throw new ConfigError(sortByLocation([...new Set(problems)]), tally.omitted);
  return {
    config: Object.fromEntries(values) as Config,
    origins,
    itemOrigins: Object.fromEntries([...resolved].flatMap(([k, r]) => (r.itemOrigins ? [[k, r.itemOrigins]] : []))),
    private: [...resolved].filter(([, r]) => r.private).map(([k]) => k),
    dir: opts.dir,
    distribution,
    board: identity.board ? findBoard(identity.board) : undefined,
    profiles,
    files: files.filter((f) => existsSync(f.file)).map((f) => f.file),
  };
}

interface LayerFile {
  file: string;
  private?: boolean;
  /** The problem if the file is missing; unset = an optional layer. */
  required?: string;
}

function layerFiles(opts: LoadOptions, profiles: string[], problems: Problems): LayerFile[] {
  const dir = opts.dir;
  const dropins = join(dir, CONFIG_DROPINS);
  const dropinFiles = existsSync(dropins) ? readdirSync(dropins).filter((n) => n.endsWith('.toml')).sort() : [];
  const known = () => {
    const names = existsSync(join(dir, PROFILES_DIR)) ? readdirSync(join(dir, PROFILES_DIR)).filter((n) => n.endsWith('.toml')).map((n) => n.slice(0, -5)) : [];
    return names.length ? `known: ${names.sort().join(', ')}` : `${join(dir, PROFILES_DIR)} has none`;
  };
  const profileFiles: LayerFile[] = [];
  for (const name of profiles) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
      problems.push(`--profile ${name}: a profile name is letters, digits, ".", "_" and "-"`);
      continue;
    }
    const file = join(dir, PROFILES_DIR, `${name}.toml`);
    profileFiles.push({ file, required: `--profile ${name}: no ${relative(process.cwd(), file) || file}; ${known()}` });
  }
  const privateFile = opts.privateFile ? resolve(opts.privateFile) : join(dir, PRIVATE_FILE);
  return [
    { file: join(dir, CONFIG_FILE) },
    ...dropinFiles.map((n) => ({ file: join(dropins, n) })),
    ...profileFiles,
    { file: join(dir, LOCAL_FILE) },
    { file: privateFile, private: true, ...(opts.privateFile ? { required: `--private ${opts.privateFile}: no such file` } : {}) },
  ];
}

/** What conditions match on. */
interface Identity {
  distribution?: Distribution;
  release?: string;
  architecture?: string;
  board?: string;
  profiles: string[];
}

/**
 * Conditions match on settings that conditional entries may themselves set
 * (a board sets the architecture; a [[when]] on the distribution sets the
 * release): resolve with the entries that apply, see what that makes the
 * identity, and go again until it stops changing.
 */
function settle(entries: Entry[], profiles: string[], problems: Problems): { resolver: Resolver; identity: Identity } {
  let identity: Identity = { profiles };
  const seen: string[] = [];
  for (let round = 0; round < 8; round++) {
    const active = [...boardEntries(identity), ...entries.filter((e) => e.when.every((c) => holds(c, identity)))];
    const resolver = new Resolver(active, profiles);
    const next = identityOf(resolver, profiles);
    const id = describeIdentity(next);
    if (id === describeIdentity(identity)) return { resolver, identity };
    if (seen.includes(id)) break;
    seen.push(id);
    identity = next;
  }
  problems.push(`the conditional sections never settle: each choice of ${seen.join(' / ')} switches on sections that change it again; make the [match] criteria exclusive`);
  throw new ConfigError(problems);
}

function identityOf(resolver: Resolver, profiles: string[]): Identity {
  const distribution = resolver.distribution();
  const text = (key: SettingKey) => {
    const v = resolver.get(key)?.value;
    return typeof v === 'string' ? v : undefined;
  };
  const arch = text('distribution.architecture');
  return {
    distribution,
    release: text('distribution.release'),
    architecture: arch && distribution ? (canonicalArchitecture(distribution, arch) ?? arch) : arch,
    board: text('board.name'),
    profiles,
  };
}

function describeIdentity(i: Identity): string {
  return [i.distribution?.name, i.release, i.architecture, i.board].map((v) => v ?? '-').join(' ');
}

/** The board's layer: its architecture, packages and disk layout, below the user's files. */
function boardEntries(identity: Identity): Entry[] {
  const board = identity.board ? findBoard(identity.board) : undefined;
  if (!board) return [];
  const base = { text: false, origin: `board ${board.name}`, when: [], private: false };
  const entries: Entry[] = [{ ...base, key: 'distribution.architecture', op: 'set', value: board.architecture }];
  const packages = identity.distribution ? boardPackages(board, identity.distribution) : [];
  if (packages.length) entries.push({ ...base, key: 'packages.install', op: 'add', value: packages });
  if (identity.distribution) {
    const layout = board.layout(identity.distribution.format);
    entries.push({ ...base, key: 'disk.table', op: 'set', value: layout.table }, { ...base, key: 'disk.partitions', op: 'set', value: layout.partitions });
  }
  return entries;
}

/** Every criterion given holds: one of its names matches (a leading ! excludes). */
export function holds(condition: Condition, identity: Identity): boolean {
  return Object.entries(condition.criteria).every(([criterion, names]) => {
    const matches = (name: string): boolean => {
      switch (criterion) {
        case 'distribution':
          return identity.distribution !== undefined && findDistribution(name)?.name === identity.distribution.name;
        case 'architecture':
          return identity.architecture !== undefined && (identity.distribution ? (canonicalArchitecture(identity.distribution, name) ?? name) : name) === identity.architecture;
        case 'release':
          return name === identity.release;
        case 'board':
          return name === identity.board;
        default:
          return identity.profiles.includes(name);
      }
    };
    const wanted = names.filter((n) => !n.startsWith('!'));
    const excluded = names.filter((n) => n.startsWith('!')).map((n) => n.slice(1));
    return (wanted.length === 0 || wanted.some(matches)) && !excluded.some(matches);
  });
}

function checkCrossSettings(
  values: Map<SettingKey, unknown>,
  origins: Record<SettingKey, string>,
  fromUser: (key: SettingKey) => boolean,
  failed: ReadonlySet<SettingKey>,
  dist: Distribution,
  problems: Problems,
): void {
  const facts = FORMAT_FACTS[dist.format];
  const archKey: SettingKey = 'distribution.architecture';
  const arch = values.get(archKey);
  if (typeof arch === 'string') {
    const canonical = canonicalArchitecture(dist, arch);
    if (canonical) values.set(archKey, canonical);
    else problems.push(`${origins[archKey]}: ${archKey}: unknown architecture "${arch}" for ${dist.pretty}; known: ${Object.keys(dist.architectures).join(', ')}`);
  }
  for (const key of SETTING_KEYS) {
    if (values.has(key) || failed.has(key)) continue;
    const def = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
    if (key === 'distribution.architecture') {
      problems.push(`${CONFIG_FILE}: ${key}: ${dist.pretty} is not built for this host's architecture; set it to one of ${Object.keys(dist.architectures).join(', ')}`);
    } else if (key === 'distribution.mirror' && facts.mirror === 'pattern') {
      problems.push(`${CONFIG_FILE}: ${key}: ${dist.pretty} has no default mirror; set distribution.mirror to a mirror URL pattern with $repo and $arch`);
    } else if ('required' in def && def.required) {
      problems.push(`${CONFIG_FILE}: ${key}: not set and no default could be derived from this host; set it (${def.help})`);
    } else if ('default' in def && typeof def.default === 'function') {
      problems.push(`${CONFIG_FILE}: ${key}: not set and no default could be derived from this host; set it`);
    }
  }
  if (facts.releases === 'rolling') {
    const rolling = dist.defaultRelease;
    if (fromUser('distribution.release') && values.get('distribution.release') !== rolling) {
      problems.push(`${origins['distribution.release']}: distribution.release: ${dist.pretty} is a rolling release; leave it unset or set "${rolling}"`);
    }
    values.set('distribution.release', rolling);
  }
  // A distribution that lists its base sets offers only those (Alpine has no essential or standard; Debian and Arch no tiny).
  const base = values.get('packages.base');
  const offered = dist.baseSets ? Object.keys(dist.baseSets) : ['essential', 'minimal', 'standard', 'none'];
  if (typeof base === 'string' && !offered.includes(base)) problems.push(`${origins['packages.base']}: packages.base: ${dist.pretty} has no base set "${base}"; choose ${offered.join(', ')}`);
  const release = values.get('distribution.release');
  const releaseWrong = typeof release === 'string' ? dist.releaseProblem?.(release) : undefined;
  if (releaseWrong) problems.push(`${origins['distribution.release']}: distribution.release: ${releaseWrong}`);
  if (facts.mirror === 'pattern') {
    const mirror = values.get('distribution.mirror');
    const wrong = fromUser('distribution.mirror') && typeof mirror === 'string' ? urlPatternProblem(mirror, true) : undefined;
    if (wrong) problems.push(`${origins['distribution.mirror']}: distribution.mirror: ${wrong}`);
  }
  // Settings another format reads and this one would ignore.
  for (const key of SETTING_KEYS) {
    const owners = facts.ownSettings.includes(key) ? [] : settingOwners(key);
    if (owners.length && fromUser(key)) problems.push(`${origins[key]}: ${key}: only for ${owners.map((o) => o.family).join(' or ')}, not ${dist.pretty}`);
  }
  const boardProblem = boardDistributionProblem(values.get('board.name'), dist);
  if (boardProblem) problems.push(`${origins['board.name']}: board.name: ${boardProblem}`);
  if (values.has('system.root-password') && values.has('system.root-password-hash')) {
    problems.push(`${origins['system.root-password']}: system.root-password: set either root-password or root-password-hash, not both`);
  }
}

/** A board whose U-Boot package the distribution lacks (before anything is downloaded). */
function boardDistributionProblem(name: unknown, dist: Distribution): string | undefined {
  const board = typeof name === 'string' ? findBoard(name) : undefined;
  if (!board?.uboot || board.uboot.from[dist.name]) return undefined;
  const known = Object.entries(board.uboot.from).map(([d, f]) => `${findDistribution(d)?.pretty ?? d}'s ${f.package}`);
  return `board ${board.name} writes its U-Boot from ${known.join(' or ')}, and ${dist.pretty} has no package kiln knows with it; use distribution.name = "${Object.keys(board.uboot.from)[0]}"`;
}

/** Problems in file order (file, then line); others (environment, --set) after. */
function sortByLocation(problems: string[]): string[] {
  const key = (p: string) => /^(.+?):(\d+)[:\s]/.exec(p);
  return problems
    .map((p, i) => ({ p, i, m: key(p) }))
    .sort((a, b) => {
      if (a.m && b.m) return a.m[1] === b.m[1] ? Number(a.m[2]) - Number(b.m[2]) : a.i - b.i;
      return a.m ? -1 : b.m ? 1 : a.i - b.i;
    })
    .map((x) => x.p);
}
