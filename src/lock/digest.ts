/**
 * Which settings a lock depends on, and its digest of them. A lock pins a
 * package set, so it covers exactly the settings that decide which packages
 * are resolved: the distribution, its release and architecture, the
 * repositories, the base set and packages.install (where boards and profiles
 * add theirs), and keyring-bootstrap (it adds the keyring package). Not
 * covered: where the packages come from (distribution.mirror, the host's apt
 * sources, repository-mirrors: a lock made on one host installs the same set
 * from another host's mirror) and how indexes are checked (keyring,
 * verify-signatures, check-*), which do not change the set; nor anything
 * that shapes the tree from the set (system, users, hooks, prune, overlays:
 * the stage keys and the manifest cover those), how it is written
 * (output.*, disk.*, ...), or build.* (build.source-date-epoch included: a
 * date from $SOURCE_DATE_EPOCH that changes with every commit must not
 * invalidate the lock; the default, "release", reads the locked date).
 */
import { createHash } from 'node:crypto';
import type { LoadedConfig, SettingKey } from '../config/index.ts';

export const LOCKED_SETTINGS = [
  'distribution.name',
  'distribution.release',
  'distribution.architecture',
  'distribution.repositories',
  'distribution.extra-repositories',
  'distribution.keyring-bootstrap',
  'packages.base',
  'packages.install',
] as const satisfies readonly SettingKey[];

/** The locked settings' values, as the lock records them (unset ones left out; a private one only as its hash). */
export function lockInputs(loaded: Pick<LoadedConfig, 'config' | 'private'>): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const key of LOCKED_SETTINGS) {
    const value = loaded.config[key] as unknown;
    if (value === undefined || value === null) continue;
    inputs[key] = loaded.private.includes(key) ? `(private) sha256:${sha256(canonical(value))}` : value;
  }
  return inputs;
}

/** `sha256:HEX` over the inputs in a canonical form (keys sorted at every level). */
export function inputsDigest(inputs: Record<string, unknown>): string {
  return `sha256:${sha256(canonical(inputs))}`;
}

/** The locked settings whose values differ between the lock's inputs and the configuration's. */
export function changedSettings(locked: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(locked), ...Object.keys(current)])].sort();
  return keys.filter((k) => canonical(locked[k] ?? null) !== canonical(current[k] ?? null));
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && x !== null).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
