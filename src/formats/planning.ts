/**
 * What every format's plan step shares: the resolved package list kept
 * between builds (cache/plans, under a key that covers the signed indexes and
 * the request), and the warning that signature checks are off, which goes to
 * the log at once and into the plan's warnings (printed again in every
 * build's summary).
 */
import { memoized, memoKey } from '../repo/index.ts';
import type { PlanContext, PlannedPackage } from './types.ts';

/**
 * The packages `resolve` computes, or the list an earlier build computed from
 * the same inputs. `kind` names the format's plans (`deb-plan`); `inputs` must
 * cover everything the result depends on (index checksums, targets, ...).
 */
export async function memoizedPlan<P extends PlannedPackage<unknown>>(ctx: Pick<PlanContext, 'memoDir' | 'kilnVersion'>, kind: string, inputs: unknown[], resolve: () => Promise<P[]>): Promise<P[]> {
  const { value } = await memoized(ctx.memoDir, memoKey(kind, ctx.kilnVersion, ...inputs), resolve);
  return value;
}

/** Where a plan's warnings go: the log now, and the plan's list. */
export interface PlanWarnings {
  warnings: string[];
  emit: PlanContext['emit'];
}

export function planWarning(sink: PlanWarnings, message: string): void {
  sink.warnings.push(message);
  sink.emit({ kind: 'log', level: 'warn', message });
}

/** The one wording of "this is trusted unverified": `what` says what and why (`for repository core: ...`). */
export function signatureChecksOff(sink: PlanWarnings, what: string): void {
  planWarning(sink, `signature checks are OFF ${what}`);
}
