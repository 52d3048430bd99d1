/**
 * An Alpine install's world (/etc/apk/world): the base set, packages.install
 * as written (`foo`, `foo>=1.2`, `foo@edge`), and the keys package when
 * trust-first-download took the keys from it (its keys are the image's);
 * with who asked for each, for the resolver's messages.
 */
import type { PlanContext } from '../types.ts';

export function apkWorld(ctx: Pick<PlanContext, 'config' | 'distribution' | 'origins'>, unverified: readonly string[]): { world: string[]; origins: Map<string, string> } {
  const { config, distribution } = ctx;
  const variant = config['packages.base'];
  const base = distribution.baseSets?.[variant] ?? [];
  const world = [...new Set([...base, ...config['packages.install'], ...unverified])];
  const origins = new Map<string, string>();
  for (const name of base) origins.set(name, `${distribution.pretty}'s base set: packages.base = "${variant}" (${ctx.origins.base}); "none" installs exactly packages.install`);
  for (const name of config['packages.install']) origins.set(name, `packages.install, ${ctx.origins.install[name] ?? 'the configuration'}`);
  return { world, origins };
}
