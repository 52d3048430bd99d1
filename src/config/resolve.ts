/**
 * Merging the entries of every layer into one value per setting: the last
 * `set` wins; list items added and removed after it are counted (so the
 * order of the files does not matter); tables merge by name; `${section.key}`
 * is replaced by that setting's value; unset settings take their default.
 */
import { SETTINGS, type SettingKey } from './settings.ts';
import { isSettingKey, type Entry, type Problems } from './layers.ts';
import { canonicalArchitecture, findDistribution, type Distribution } from '../catalog/index.ts';

export interface Resolved {
  value: unknown;
  origin: string;
  /** A private entry or a private setting took part: never print or store it. */
  private: boolean;
  /** Some layer above the defaults set it. */
  fromUser: boolean;
  /** Lists: where each (string) item came from, the layer that last set or added it. */
  itemOrigins?: Record<string, string>;
}

type AnySetting = (typeof SETTINGS)[SettingKey];

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;

export class Resolver {
  private readonly done = new Map<SettingKey, Resolved | undefined>();
  private readonly resolving: SettingKey[] = [];
  readonly problems: Problems = [];
  /** Settings with a value that did not parse (their problem is reported; "not set" would repeat it). */
  readonly failed = new Set<SettingKey>();

  constructor(
    private readonly entries: Entry[],
    private readonly profiles: string[],
  ) {}

  distribution(): Distribution | undefined {
    const name = this.get('distribution.name')?.value;
    return typeof name === 'string' ? findDistribution(name) : undefined;
  }

  get(key: SettingKey): Resolved | undefined {
    if (this.done.has(key)) return this.done.get(key);
    if (this.resolving.includes(key)) {
      const loop = [...this.resolving.slice(this.resolving.indexOf(key)), key];
      this.problems.push(`${this.lastOrigin(key)}: ${key}: \${...} refers back to itself (${loop.join(' -> ')})`);
      return undefined;
    }
    this.resolving.push(key);
    try {
      const resolved = this.normalize(key, this.compute(key));
      this.done.set(key, resolved);
      return resolved;
    } finally {
      this.resolving.pop();
    }
  }

  /** The distribution's own name for an architecture alias, so that ${distribution.architecture} reads as it does in the image. */
  private normalize(key: SettingKey, resolved: Resolved | undefined): Resolved | undefined {
    if (key !== 'distribution.architecture' || typeof resolved?.value !== 'string') return resolved;
    const dist = this.distribution();
    const canonical = dist && canonicalArchitecture(dist, resolved.value);
    return canonical ? { ...resolved, value: canonical } : resolved;
  }

  private lastOrigin(key: SettingKey): string {
    return this.entries.filter((e) => e.key === key).at(-1)?.origin ?? 'default';
  }

  private compute(key: SettingKey): Resolved | undefined {
    const def = SETTINGS[key] as AnySetting;
    const entries = this.entries.filter((e) => e.key === key);
    const lastSet = entries.findLastIndex((e) => e.op === 'set');
    const secret = Boolean(def.kind.secret);
    if (def.kind.shape === 'list') {
      const base = lastSet >= 0 ? this.parse(entries[lastSet] as Entry) : this.fallback(key);
      if (lastSet >= 0 && !base) return undefined;
      const changes = entries.slice(lastSet + 1);
      if (!changes.length) return base && { ...base, itemOrigins: originsOfItems(base.value, base.origin) };
      return this.countItems(base, changes, secret);
    }
    if (def.kind.shape === 'map') {
      const parts = [this.fallback(key), ...entries.map((e) => this.parse(e))].filter((p): p is Resolved => p !== undefined);
      if (!parts.length) return undefined;
      const user = parts.filter((p) => p.fromUser);
      return {
        value: Object.assign({}, ...parts.map((p) => p.value)),
        origin: (user.length ? user : parts).map((p) => p.origin).join(' + '),
        private: secret || parts.some((p) => p.private),
        fromUser: user.length > 0,
      };
    }
    return lastSet >= 0 ? this.parse(entries[lastSet] as Entry) : this.fallback(key);
  }

  /** Items of the base, then each added or removed item counted: present when the count is above zero. */
  private countItems(base: Resolved | undefined, changes: Entry[], secret: boolean): Resolved {
    const counts = new Map<string, { item: unknown; n: number }>();
    const bump = (item: unknown, by: number) => {
      const id = JSON.stringify(item);
      const slot = counts.get(id) ?? { item, n: 0 };
      slot.n += by;
      counts.set(id, slot);
    };
    const itemOrigins: Record<string, string> = base ? originsOfItems(base.value, base.origin) : {};
    for (const item of new Set((base?.value as unknown[] | undefined) ?? [])) bump(item, 1);
    const origins = base?.fromUser ? [base.origin] : [];
    let isPrivate = secret || Boolean(base?.private);
    for (const change of changes) {
      const parsed = this.parse(change);
      if (!parsed) continue;
      for (const item of parsed.value as unknown[]) bump(item, change.op === 'remove' ? -1 : 1);
      if (change.op !== 'remove') Object.assign(itemOrigins, originsOfItems(parsed.value, change.origin));
      origins.push(`${change.op === 'remove' ? '-' : '+'}${change.origin}`);
      isPrivate ||= parsed.private;
    }
    const value = [...counts.values()].filter((c) => c.n > 0).map((c) => c.item);
    const kept = new Set(value.filter((item): item is string => typeof item === 'string'));
    return {
      value,
      origin: (base && !base.fromUser ? [`${base.origin}`, ...origins] : origins).join(' '),
      private: isPrivate,
      fromUser: true,
      itemOrigins: Object.fromEntries(Object.entries(itemOrigins).filter(([item]) => kept.has(item))),
    };
  }

  private parse(entry: Entry): Resolved | undefined {
    const def = SETTINGS[entry.key] as AnySetting;
    const tainted = { private: false };
    const raw = this.interpolate(entry.value, entry, tainted);
    if (raw === undefined) {
      this.failed.add(entry.key);
      return undefined;
    }
    const parsed = def.kind.parse(raw, entry.text);
    if ('error' in parsed) {
      const where = parsed.at && entry.originOf ? entry.originOf(parsed.at) : entry.origin;
      this.problems.push(`${where}: ${entry.key}: ${parsed.error}`);
      this.failed.add(entry.key);
      return undefined;
    }
    return { value: parsed.value, origin: entry.origin, private: entry.private || Boolean(def.kind.secret) || tainted.private, fromUser: true };
  }

  /** The default: fixed, or derived from earlier settings and the host. */
  private fallback(key: SettingKey): Resolved | undefined {
    const def = SETTINGS[key] as AnySetting;
    if (!('default' in def) || def.default === undefined) return undefined;
    const derived = typeof def.default === 'function';
    // A default derived from a private value is private too.
    let tainted = false;
    const ctx = {
      get: (k: string) => {
        const got = isSettingKey(k) ? this.get(k) : undefined;
        tainted ||= Boolean(got?.private);
        return got?.value;
      },
      distribution: () => this.distribution(),
    };
    const value = derived ? (def.default as (c: typeof ctx) => unknown)(ctx) : def.default;
    if (value === undefined) return undefined;
    const origin = derived && 'defaultOrigin' in def ? `default (${def.defaultOrigin})` : 'default';
    return { value, origin, private: Boolean(def.kind.secret) || tainted, fromUser: false };
  }

  /** Replaces `${section.key}` (and `${profiles}`) in every string of a raw value; `$${` is a literal `${`. */
  private interpolate(raw: unknown, entry: Entry, tainted: { private: boolean }): unknown {
    if (typeof raw === 'string') {
      let failed = false;
      const out = raw.replace(REFERENCE, (whole, escaped: string, name: string) => {
        if (escaped) return whole.slice(1);
        const text = this.reference(name, entry, tainted);
        if (text === undefined) failed = true;
        return text ?? '';
      });
      return failed ? undefined : out;
    }
    if (Array.isArray(raw)) {
      const items = raw.map((item) => this.interpolate(item, entry, tainted));
      return items.includes(undefined) ? undefined : items;
    }
    if (raw !== null && typeof raw === 'object') {
      const pairs = Object.entries(raw).map(([k, v]) => [k, this.interpolate(v, entry, tainted)] as const);
      return pairs.some(([, v]) => v === undefined) ? undefined : Object.fromEntries(pairs);
    }
    return raw;
  }

  private reference(name: string, entry: Entry, tainted: { private: boolean }): string | undefined {
    const where = `${entry.origin}: ${entry.key}`;
    if (name === 'profiles') return this.profiles.join('-');
    if (!isSettingKey(name)) {
      this.problems.push(`${where}: \${${name}} names no setting (write \${section.key}, or \${profiles})`);
      return undefined;
    }
    const target = this.get(name);
    if (!target) {
      // A setting with entries that failed to resolve has had its problem reported already.
      if (!this.entries.some((e) => e.key === name)) this.problems.push(`${where}: \${${name}} is not set`);
      return undefined;
    }
    tainted.private ||= target.private;
    const v = target.value;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(' ');
    this.problems.push(`${where}: \${${name}} is a table and cannot be put into a string`);
    return undefined;
  }
}

/** Each string item of a list value, with the one origin they share. */
function originsOfItems(value: unknown, origin: string): Record<string, string> {
  return Array.isArray(value) ? Object.fromEntries(value.filter((item): item is string => typeof item === 'string').map((item) => [item, origin])) : {};
}
