/**
 * The bench's bootable rows: a foreign case is held against the host case of
 * the same set (kiln arm64 bootable / kiln amd64 bootable), never against
 * the minimal one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeAll, type CaseResult, type Comparison } from '../../bench/report.ts';
import type { RunResult } from '../../bench/measure.ts';

const run = (wallSeconds: number): RunResult => ({ code: 0, wallSeconds, treePeakRssKiB: 1000, treePeakPssKiB: 900, tmpfsPeakKiB: 0, totalPeakKiB: 900 });
const comparison: Comparison = { baseline: 'mmdebstrap', short: 'mm', ratioTargets: {}, foreignOverNativeTarget: 1.5, wholeLabel: 'ii', description: [] };
const kase = (name: string, architecture: string, seconds: number, variant?: string): CaseResult => ({
  name,
  architecture,
  foreign: architecture !== 'amd64',
  ...(variant ? { variant } : {}),
  notes: [],
  baseline: { runs: [] },
  kiln: { runs: [run(seconds)] },
});

test('summarizeAll: kiln arm64 bootable over kiln amd64 bootable, kiln arm64 over kiln amd64', () => {
  const sums = summarizeAll(comparison, [kase('amd64', 'amd64', 20), kase('arm64', 'arm64', 28), kase('amd64 bootable', 'amd64', 60, 'bootable'), kase('arm64 bootable', 'arm64', 120, 'bootable')]);
  assert.equal(sums[1]?.kilnOverNative, 28 / 20);
  assert.equal(sums[1]?.kilnOverNativePass, true);
  assert.equal(sums[3]?.kilnOverNative, 2);
  assert.equal(sums[3]?.kilnOverNativePass, false);
  assert.equal(sums[2]?.kilnOverNative, undefined);
});
