/** `kiln config`: the merged configuration with each value's origin; secrets hidden. */
import { SETTINGS, SETTING_KEYS, envName, type SettingKey } from './settings.ts';
import type { LoadedConfig } from './load.ts';

export function configToJson(loaded: LoadedConfig): Record<string, { value: unknown; origin: string }> {
  const out: Record<string, { value: unknown; origin: string }> = {};
  for (const key of SETTING_KEYS) {
    if (!(key in loaded.config)) continue;
    out[key] = { value: shown(key, loaded.config[key]), origin: loaded.origins[key] ?? "default" };
  }
  return out;
}

function shown(key: SettingKey, value: unknown): unknown {
  const kind = SETTINGS[key].kind as { secret?: boolean };
  return kind.secret ? '(secret)' : value;
}

/** TOML, grouped by section, with the origin of each value as a comment. */
export function formatConfig(loaded: LoadedConfig): string {
  const lines: string[] = [];
  let section = '';
  const entries = Object.entries(configToJson(loaded));
  const width = Math.max(...entries.map(([k, v]) => k.split('.')[1]!.length + tomlValue(v.value).length)) + 4;
  for (const [key, { value, origin }] of entries) {
    const [sec, name] = key.split('.') as [string, string];
    if (sec !== section) {
      if (section) lines.push('');
      lines.push(`[${sec}]`);
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
    lines.push(`  ${''.padEnd(30)} ${def.kind.describe}; $${envName(key)}`);
  }
  return lines.join('\n') + '\n';
}
