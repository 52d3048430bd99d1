/**
 * The shape of one entry of the settings table, and the two helpers that
 * declare one (a setting with a value, an optional one). Shared by the
 * table's modules (settings.ts, settings-image.ts).
 */
import type { Distribution } from '../catalog/index.ts';
import type { Kind, KindValue } from './kinds.ts';

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
  /** The environment variable of its environment layer, when it is not KILN_SECTION_KEY (a variable other tools read too). */
  environment?: string;
}

/** A setting that always has a value (a default, or required). */
export const setting = <K extends Kind<unknown>>(s: Setting<K>): Setting<K> & { optional?: false } => s;
/** A setting that may stay unset. */
export const optional = <K extends Kind<unknown>>(s: Omit<Setting<K>, 'default' | 'required'>): Setting<K> & { optional: true } => ({ ...s, optional: true });
