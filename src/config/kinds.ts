/**
 * Value kinds for the settings table: each parses a raw value (from TOML, an
 * environment variable or --set) into its typed form or says what is wrong.
 */
export interface Kind<T> {
  /** How the kind reads in --help and error messages. */
  describe: string;
  /**
   * Parses a TOML value; text=true when the raw value is a string from the environment or --set.
   * An error may say where inside the value it is (`at`: item numbers from 0 and table names), so
   * that it is reported at that line.
   */
  parse(value: unknown, text: boolean): { value: T } | KindError;
  /** Values that must never be printed or stored (passwords, key paths). */
  secret?: boolean;
  /** list: later layers may add and remove items; map: later layers merge by name. */
  shape?: 'list' | 'map';
  /** The value with its secret parts replaced by "(secret)", for kinds that hold some (a user's password hash). */
  redact?(value: T): unknown;
  /** The paths in a parsed value that must exist and be readable (relative ones from the image directory). */
  paths?(value: T): RequiredPath[];
}

export interface KindError {
  error: string;
  at?: (string | number)[];
}

export interface RequiredPath {
  path: string;
  type: 'file' | 'directory' | 'any';
  /** Everything below a directory is read too (an overlay): each file and directory must be readable. */
  wholeTree?: boolean;
}

export type KindValue<K> = K extends Kind<infer T> ? T : never;

export const string = (describe = 'a string'): Kind<string> => ({
  describe,
  parse: (v) => (typeof v === 'string' && v.length > 0 ? { value: v } : { error: `expected ${describe}, got ${JSON.stringify(v)}` }),
});

export const secret = (describe = 'a string'): Kind<string> => ({ ...string(describe), secret: true });

/** A path that must exist and be readable when it is set. */
export const path = (type: RequiredPath['type'], describe = `a ${type} path`, opts: { wholeTree?: boolean } = {}): Kind<string> => ({
  ...string(describe),
  paths: (value) => [{ path: value, type, ...opts }],
});

export const oneOf = <const T extends readonly string[]>(values: T): Kind<T[number]> => ({
  describe: `one of ${values.map((v) => `"${v}"`).join(', ')}`,
  parse: (v) =>
    typeof v === 'string' && (values as readonly string[]).includes(v)
      ? { value: v as T[number] }
      : { error: `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}` },
});

export const boolean = (): Kind<boolean> => ({
  describe: 'true or false',
  parse: (v, text) => {
    if (typeof v === 'boolean') return { value: v };
    if (text && typeof v === 'string' && /^(true|false|1|0|yes|no)$/i.test(v)) return { value: /^(true|1|yes)$/i.test(v) };
    return { error: `expected true or false, got ${JSON.stringify(v)}` };
  },
});

export const integer = (min: number, max: number): Kind<number> => ({
  describe: `a whole number from ${min} to ${max}`,
  parse: (v, text) => {
    const n = text && typeof v === 'string' ? Number(v) : v;
    return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max
      ? { value: n }
      : { error: `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v)}` };
  },
});

/** A size in bytes: a number, or text such as 500M, 1.5G, 200k. */
export const size = (): Kind<number> => ({
  describe: 'a size such as 500M or 4G',
  parse: (v) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { value: v };
    const bytes = typeof v === 'string' ? sizeInBytes(v) : undefined;
    return bytes === undefined ? { error: `expected a size such as 500M or 4G, got ${JSON.stringify(v)}` } : { value: bytes };
  },
});

/** 1.5G, 500M, 200k, 1000 (bytes); undefined when it is not a size. */
export function sizeInBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] as string).toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

/**
 * A length of time in seconds (so that `kiln config` prints a value that reads back the same): a
 * number of seconds, or text such as 30s, 2m, 1h30m, 500ms.
 */
export const duration = (): Kind<number> => ({
  describe: 'a duration such as 30s, 2m or 1h',
  parse: (v) => {
    const ms = typeof v === 'number' ? (Number.isFinite(v) && v > 0 ? v * 1000 : undefined) : typeof v === 'string' ? durationInMs(v) : undefined;
    return ms === undefined ? { error: `expected a duration such as 30s, 2m or 1h, got ${JSON.stringify(v)}` } : { value: ms / 1000 };
  },
});

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** 90s, 1.5m, 1h30m, 500ms, 20 (seconds); undefined when it is not a positive duration. */
export function durationInMs(text: string): number | undefined {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else if (/^(?:\d+(?:\.\d+)?\s*(?:ms|min|s|m|h)\s*)+$/.test(trimmed)) {
    ms = [...trimmed.matchAll(/(\d+(?:\.\d+)?)\s*(ms|min|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * (DURATION_UNITS[unit as string] as number), 0);
  } else {
    return undefined;
  }
  return ms > 0 ? Math.round(ms) : undefined;
}

/** A list of strings; from text, items are separated by commas or spaces. */
export const stringList = <T extends string = string>(item: Kind<T> | undefined = undefined, describe = 'a list of strings'): Kind<T[]> => ({
  describe,
  shape: 'list',
  ...(item?.paths ? { paths: (value: T[]) => value.flatMap((v) => item.paths!(v)) } : {}),
  parse: (v, text) => {
    const raw = text && typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v;
    if (!Array.isArray(raw)) return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    const out: T[] = [];
    for (const [i, el] of raw.entries()) {
      if (item) {
        const r = item.parse(el, false);
        if ('error' in r) return { error: `item ${i + 1}: ${r.error}` };
        out.push(r.value);
      } else if (typeof el === 'string' && el.length > 0) {
        out.push(el as T);
      } else {
        return { error: `item ${i + 1}: expected a non-empty string, got ${JSON.stringify(el)}` };
      }
    }
    return { value: out };
  },
});

/** A table of name = string (TOML inline or sub-table); from text, `name=value` pairs separated by commas. */
export const stringMap = (describe = 'a table of strings', item: Kind<string> | undefined = undefined): Kind<Record<string, string>> => ({
  describe,
  shape: 'map',
  parse: (v, text) => {
    let raw = v;
    if (text && typeof v === 'string') {
      const pairs = v.split(',').map((p) => p.trim()).filter(Boolean);
      if (pairs.some((p) => !/^[^=]+=.+$/.test(p))) return { error: `expected name=value pairs separated by commas, got ${JSON.stringify(v)}` };
      raw = Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]));
    }
    if (!isTable(raw)) return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (isTable(value)) {
        // [section.key.NAME.more]: name the whole nested key, at its own line.
        const path = [name, ...firstLeaf(value)];
        return { error: `${path.join('.')}: ${describe} holds no nested tables; write ${name} = "..."`, at: path };
      }
      if (typeof value !== 'string' || value.length === 0) return { error: `${name}: expected a non-empty string, got ${JSON.stringify(value)}`, at: [name] };
      const r = item?.parse(value, false);
      if (r && 'error' in r) return { error: `${name}: ${r.error}`, at: [name] };
      out[name] = value;
    }
    return { value: out };
  },
});

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The names down to the first value in a nested table that is not itself a table. */
function firstLeaf(table: Record<string, unknown>): string[] {
  const [name, value] = Object.entries(table)[0] ?? [];
  if (name === undefined) return [];
  return [name, ...(isTable(value) ? firstLeaf(value) : [])];
}

export interface RecordField {
  kind: Kind<unknown>;
  required?: boolean;
}

type RecordValue<F extends Record<string, RecordField>> = { [K in keyof F as F[K] extends { required: true } ? K : never]: KindValue<F[K]['kind']> } & {
  [K in keyof F as F[K] extends { required: true } ? never : K]?: KindValue<F[K]['kind']>;
};

/** A list of tables with declared fields (TOML `[[section.key]]` or inline tables); not settable from text. */
export const records = <F extends Record<string, RecordField>>(fields: F, describe = 'a list of tables'): Kind<RecordValue<F>[]> => ({
  describe,
  shape: 'list',
  ...(Object.values(fields).some((f) => f.kind.secret)
    ? {
        redact: (value: RecordValue<F>[]) =>
          value.map((record) => Object.fromEntries(Object.entries(record as Record<string, unknown>).map(([k, v]) => [k, fields[k]?.kind.secret ? '(secret)' : v]))),
      }
    : {}),
  paths: (value) =>
    value.flatMap((record) =>
      Object.entries(record as Record<string, unknown>).flatMap(([name, v]) => fields[name]?.kind.paths?.(v) ?? []),
    ),
  parse: (v, text) => {
    if (text) return { error: `${describe} can only be set in kiln.toml` };
    if (!Array.isArray(v)) return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    const out: Record<string, unknown>[] = [];
    for (const [i, item] of v.entries()) {
      const fail = (error: string, field?: string): KindError => ({ error: `item ${i + 1}: ${error}`, at: field === undefined ? [i] : [i, field] });
      if (!isTable(item)) return fail('expected a table');
      const record: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(item)) {
        const field = fields[name];
        if (!field) return fail(`unknown field "${name}"; known: ${Object.keys(fields).join(', ')}`, name);
        const r = field.kind.parse(value, false);
        if ('error' in r) return fail(`${name}: ${r.error}`, name);
        record[name] = r.value;
      }
      const missing = Object.entries(fields).filter(([name, f]) => f.required && !(name in record)).map(([name]) => name);
      if (missing.length) return fail(`missing ${missing.join(', ')}`);
      // In the declared order of the fields, so that `remove` finds an item however its fields were ordered.
      out.push(Object.fromEntries(Object.keys(fields).filter((name) => name in record).map((name) => [name, record[name]])));
    }
    return { value: out as RecordValue<F>[] };
  },
});
