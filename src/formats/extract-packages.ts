/**
 * The extract step every format's unpack stage shares: the packages read
 * (their sha256 checked) and unpacked natively through one extractor, two at
 * a time, then the warnings of the packages and of the extractor in the log.
 * A format may have its first packages unpacked alone and in order (pacman's
 * `filesystem`, whose /bin and /lib links must exist before anything is
 * unpacked through them).
 */
import { createExtractor, type Extractor } from '../archive/index.ts';
import { step } from '../pipeline/step.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { InstallContext, InstallPlan, PlannedPackage } from './types.ts';

export interface ExtractPackages<T, P extends PlannedPackage<unknown>> {
  unpack(data: Buffer, planned: P, extractor: Extractor): Promise<T>;
  /** How many of the first packages are unpacked alone, in plan order, before the rest in parallel (default 0). */
  alone?: number;
  /** Apply the entries' extended attributes (apk: SCHILY.xattr.* such as file capabilities). Default false. */
  xattrs?: boolean;
  /** What one unpacked package has to say in the log (e.g. control members left out). */
  warnings?(unpacked: T): string[];
}

/** The unpacked packages, in plan order. */
export async function extractPackages<T, Plan extends InstallPlan>(ctx: InstallContext<Plan>, how: ExtractPackages<T, Plan['packages'][number]>): Promise<T[]> {
  return step(
    ctx.emit,
    'extract',
    async () => {
      const extractor = createExtractor(ctx.root, { chown: true, xattrs: how.xattrs ?? false });
      const one = async (p: Plan['packages'][number]) => how.unpack(await ctx.readPackage(p), p, extractor);
      const alone = ctx.plan.packages.slice(0, how.alone ?? 0);
      const result: T[] = [];
      for (const p of alone) result.push(await one(p));
      result.push(...(await mapLimit(ctx.plan.packages.slice(alone.length), 2, one)));
      const warnings = [...result.flatMap((r) => how.warnings?.(r) ?? []), ...extractor.finish().warnings];
      for (const warning of warnings) ctx.emit({ kind: 'log', level: 'warn', source: 'unpack', message: warning });
      return result;
    },
    (r) => `${r.length} packages`,
  );
}
