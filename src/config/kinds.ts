/**
 * Value kinds for the settings table: each parses a raw value (from TOML, an
 * environment variable or --set) into its typed form or says what is wrong.
 */
export interface Kind<T> {
  /** How the kind reads in --help and error messages. */
  describe: string;
  /** Parses a TOML value; text=true when the raw value is a string from the environment or --set. */
  parse(value: unknown, text: boolean): { value: T } | { error: string };
  /** Values that must never be printed or stored (passwords, key paths). */
  secret?: boolean;
}

export type KindValue<K> = K extends Kind<infer T> ? T : never;

export const string = (describe = 'a string'): Kind<string> => ({
  describe,
  parse: (v) => (typeof v === 'string' && v.length > 0 ? { value: v } : { error: `expected ${describe}` }),
});

export const secret = (describe = 'a string'): Kind<string> => ({ ...string(describe), secret: true });

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

/** A list of strings; from text, items are separated by commas or spaces. */
export const stringList = <T extends string = string>(item: Kind<T> | undefined = undefined, describe = 'a list of strings'): Kind<T[]> => ({
  describe,
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
