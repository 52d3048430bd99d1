/** `kiln config`: the merged configuration with each value's origin; secret and private values hidden. */
import { relative } from 'node:path';
import { SETTINGS, SETTING_KEYS, environmentName, type SettingKey } from './settings.ts';
import type { LoadedConfig } from './load.ts';

export interface ShownSetting {
  value: unknown;
  origin: string;
  /** The value is hidden: a secret kind or the private layer. */
  hidden?: 'secret' | 'private';
}

export interface ShownConfig {
  profiles: string[];
  board: string | null;
  /** Configuration files read, lowest layer first, relative to the image directory. */
  files: string[];
  settings: Record<string, ShownSetting>;
}

export function configToJson(loaded: LoadedConfig): ShownConfig {
  const settings: Record<string, ShownSetting> = {};
  for (const key of SETTING_KEYS) {
    if (!(key in loaded.config)) continue;
    const hidden = hiddenAs(loaded, key);
    settings[key] = { value: hidden ? `(${hidden})` : redacted(key, loaded.config[key]), origin: loaded.origins[key] ?? 'default', ...(hidden ? { hidden } : {}) };
  }
  return {
    profiles: loaded.profiles,
    board: loaded.board?.name ?? null,
    files: loaded.files.map((f) => relative(loaded.dir, f) || f),
    settings,
  };
}

/** The configuration with nothing secret or private in it: for manifests and checkpoint keys. */
export function publicConfig(loaded: LoadedConfig): Record<string, unknown> {
  return Object.fromEntries(
    SETTING_KEYS.filter((k) => k in loaded.config).map((k) => {
      const hidden = hiddenAs(loaded, k);
      return [k, hidden ? `(${hidden})` : redacted(k, loaded.config[k])];
    }),
  );
}

function redacted(key: SettingKey, value: unknown): unknown {
  const redact = (SETTINGS[key].kind as { redact?: (v: unknown) => unknown }).redact;
  return redact ? redact(value) : value;
}

function hiddenAs(loaded: LoadedConfig, key: SettingKey): ShownSetting['hidden'] {
  if ((SETTINGS[key].kind as { secret?: boolean }).secret) return 'secret';
  return loaded.private.includes(key) ? 'private' : undefined;
}

/** TOML, grouped by section, with the origin of each value as a comment. */
export function formatConfig(loaded: LoadedConfig): string {
  const shown = configToJson(loaded);
  const lines: string[] = [
    `# layers: ${['defaults', ...(shown.board ? [`board ${shown.board}`] : []), ...shown.files, 'environment', '--set'].join(' < ')}`,
  ];
  if (shown.profiles.length) lines.push(`# profiles: ${shown.profiles.join(', ')}`);
  let section = '';
  const entries = Object.entries(shown.settings);
  const width = Math.max(...entries.map(([k, v]) => k.split('.')[1]!.length + tomlValue(v.value).length)) + 4;
  for (const [key, { value, origin }] of entries) {
    const [sec, name] = key.split('.') as [string, string];
    if (sec !== section) {
      lines.push('', `[${sec}]`);
      section = sec;
    }
    const assignment = `${name} = ${tomlValue(value)}`;
    lines.push(`${assignment.padEnd(width + 3)}# ${origin}`);
  }
  return lines.join('\n') + '\n';
}

/** A value as TOML: strings quoted, lists in brackets, tables inline. */
export function tomlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const pairs = Object.entries(value).map(([k, v]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${tomlValue(v)}`);
    return pairs.length ? `{ ${pairs.join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

/** The settings table as help text: key, kind, environment variable, meaning. */
export function settingsHelp(): string {
  const lines = ['', 'Settings (kiln.toml [section] key, --set section.key=VALUE, or the environment variable):'];
  for (const key of SETTING_KEYS) {
    const def = SETTINGS[key];
    lines.push(`  ${key.padEnd(30)} ${def.help}`);
    lines.push(`  ${''.padEnd(30)} ${def.kind.describe}; $${environmentName(key)}`);
  }
  return lines.join('\n') + '\n';
}
