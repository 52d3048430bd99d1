/**
 * Loading the configuration: built-in defaults < kiln.toml < environment
 * (KILN_*) < --set, every value remembering where it came from.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { SETTINGS, SETTING_KEYS, envName, type Config, type SettingKey } from './settings.ts';
import { tomlKeyLines } from './toml-lines.ts';
import { canonicalArchitecture, findDistribution, type Distribution } from '../catalog/index.ts';
import { UserError } from '../util/errors.ts';
import { similarNames } from '../util/suggest.ts';

export interface LoadOptions {
  /** The image directory (-C). */
  dir: string;
  /** `--set key=value` arguments, in order. */
  sets?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  origins: Record<SettingKey, string>;
  dir: string;
  distribution: Distribution;
}

/** Several problems found at once: each is one `where: key: problem` line. */
export class ConfigError extends UserError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'), problems.length > 1 ? `${problems.length} problems in the configuration` : undefined);
    this.name = 'ConfigError';
  }
}

interface RawValue {
  value: unknown;
  text: boolean;
  origin: string;
}

export const CONFIG_FILE = 'kiln.toml';

export function loadConfig(opts: LoadOptions): LoadedConfig {
  const env = opts.env ?? process.env;
  const problems: string[] = [];
  const layers: Map<SettingKey, RawValue>[] = [];
  layers.push(readTomlLayer(opts.dir, problems));
  const envLayer = new Map<SettingKey, RawValue>();
  for (const key of SETTING_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') envLayer.set(key, { value: v, text: true, origin: `$${envName(key)}` });
  }
  layers.push(envLayer);
  const setLayer = new Map<SettingKey, RawValue>();
  for (const arg of opts.sets ?? []) {
    const eq = arg.indexOf('=');
    const key = arg.slice(0, Math.max(eq, 0)).trim();
    if (eq <= 0) {
      problems.push(`--set ${arg}: expected KEY=VALUE`);
    } else if (!isSettingKey(key)) {
      problems.push(`--set ${arg}: unknown setting "${key}"${suggestion(key)}`);
    } else {
      setLayer.set(key, { value: arg.slice(eq + 1), text: true, origin: '--set' });
    }
  }
  layers.push(setLayer);

  const values = new Map<SettingKey, unknown>();
  const origins = {} as Record<SettingKey, string>;
  let distribution: Distribution | undefined;
  const ctx = { get: (k: string) => values.get(k as SettingKey), distribution: () => distribution };
  for (const key of SETTING_KEYS) {
    const def = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
    let raw: RawValue | undefined;
    for (const layer of layers) raw = layer.get(key) ?? raw;
    if (raw) {
      const parsed = def.kind.parse(raw.value, raw.text);
      if ('error' in parsed) {
        problems.push(`${raw.origin}: ${key}: ${parsed.error}`);
        continue;
      }
      values.set(key, parsed.value);
      origins[key] = raw.origin;
    } else if ('default' in def && def.default !== undefined) {
      const value = typeof def.default === 'function' ? (def.default as (c: typeof ctx) => unknown)(ctx) : def.default;
      if (value !== undefined) {
        values.set(key, value);
        origins[key] = 'defaultOrigin' in def && typeof def.default === 'function' ? `default (${def.defaultOrigin})` : 'default';
      }
    }
    if (key === 'distribution.name') distribution = findDistribution(String(values.get(key) ?? 'debian'));
  }
  if (!distribution) throw new ConfigError(problems);
  checkCrossSettings(values, origins, distribution, problems);
  if (problems.length) throw new ConfigError(sortByLocation(problems));
  return { config: Object.fromEntries(values) as Config, origins, dir: opts.dir, distribution };
}

function checkCrossSettings(values: Map<SettingKey, unknown>, origins: Record<SettingKey, string>, dist: Distribution, problems: string[]): void {
  const archKey: SettingKey = 'distribution.architecture';
  const arch = values.get(archKey);
  if (typeof arch === 'string') {
    const canonical = canonicalArchitecture(dist, arch);
    if (canonical) values.set(archKey, canonical);
    else problems.push(`${origins[archKey]}: ${archKey}: unknown architecture "${arch}" for ${dist.pretty}; known: ${Object.keys(dist.architectures).join(', ')}`);
  }
  for (const key of SETTING_KEYS) {
    if (values.has(key)) continue;
    const def = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
    if (key === 'distribution.architecture') {
      problems.push(`${CONFIG_FILE}: ${key}: ${dist.pretty} is not built for this host's architecture; set it to one of ${Object.keys(dist.architectures).join(', ')}`);
    } else if (key === 'distribution.mirror' && dist.format === 'pacman') {
      problems.push(`${CONFIG_FILE}: ${key}: ${dist.pretty} has no default mirror; set distribution.mirror to a mirror URL pattern with $repo and $arch`);
    } else if ('required' in def && def.required) {
      problems.push(`${CONFIG_FILE}: ${key}: not set and no default could be derived from this host; set it (${def.help})`);
    } else if ('default' in def && typeof def.default === 'function') {
      problems.push(`${CONFIG_FILE}: ${key}: not set and no default could be derived from this host; set it`);
    }
  }
  if (dist.format === 'pacman') {
    const release = values.get('distribution.release');
    if (origins['distribution.release'] && !origins['distribution.release'].startsWith('default') && release !== 'rolling') {
      problems.push(`${origins['distribution.release']}: distribution.release: ${dist.pretty} is a rolling release; leave it unset or set "rolling"`);
    }
    values.set('distribution.release', 'rolling');
  } else {
    for (const key of ['distribution.repository-mirrors', 'distribution.extra-repositories', 'distribution.keyring-bootstrap'] as const) {
      if (origins[key] && !origins[key].startsWith('default')) problems.push(`${origins[key]}: ${key}: only for pacman distributions (the Arch family), not ${dist.pretty}`);
    }
  }
  if (values.has('system.root-password') && values.has('system.root-password-hash')) {
    problems.push(`${origins['system.root-password']}: system.root-password: set either root-password or root-password-hash, not both`);
  }
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

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

function suggestion(key: string): string {
  const near = similarNames(key, SETTING_KEYS, 2);
  return near.length ? `; did you mean ${near.join(' or ')}?` : '';
}

function readTomlLayer(dir: string, problems: string[]): Map<SettingKey, RawValue> {
  const layer = new Map<SettingKey, RawValue>();
  const file = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return layer;
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const shown = relative(process.cwd(), file) || file;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const what = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'syntax error';
      throw new ConfigError([`${shown}:${err.line}:${err.column}: ${what}`]);
    }
    throw err;
  }
  const lines = tomlKeyLines(text);
  const at = (key: string) => `${shown}:${lines.get(key) ?? 1}`;
  for (const [section, body] of Object.entries(doc)) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      problems.push(`${at(section)}: ${section}: expected a [${section}] table${suggestion(section)}`);
      continue;
    }
    for (const [name, value] of Object.entries(body)) {
      const key = `${section}.${name}`;
      if (!isSettingKey(key)) {
        problems.push(`${at(key)}: ${key}: unknown setting${suggestion(key)}`);
        continue;
      }
      layer.set(key, { value, text: false, origin: at(key) });
    }
  }
  return layer;
}
