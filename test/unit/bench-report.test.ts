/**
 * The bench's report (bench/report.ts): with mmdebstrap measured two ways
 * (work directory on disk, TMPDIR on a tmpfs), the ratio that counts is
 * kiln against the faster of the two, and the report and the JSON carry both.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, resultsSection, summarize, summarizeAll, type CaseResult, type Comparison, type ToolResult } from '../../bench/report.ts';
import type { RunResult } from '../../bench/measure.ts';

const comparison: Comparison = { baseline: 'mmdebstrap', short: 'mm', ratioTargets: { amd64: 0.5 }, wholeLabel: 'ii', description: [] };

const run = (wallSeconds: number, code = 0): RunResult => ({ code, wallSeconds, treePeakRssKiB: 1000, treePeakPssKiB: 900, tmpfsPeakKiB: 0, totalPeakKiB: 900 });
const tool = (...walls: number[]): ToolResult => ({ runs: walls.map((w) => run(w)) });

function twoWays(disk: ToolResult, tmpfs: ToolResult, kiln: ToolResult): CaseResult {
  return { name: 'bookworm amd64 minimal', architecture: 'amd64', notes: [], baseline: disk, baselineTmpfs: tmpfs, kiln };
}

describe('bench report: mmdebstrap on disk and on tmpfs', () => {
  it('holds kiln to the faster mmdebstrap (tmpfs) and keeps both ratios', () => {
    const s = summarize(comparison, twoWays(tool(40, 42, 44), tool(30, 31, 29), tool(18, 17, 16)));
    assert.equal(s.baselineMedianSeconds, 42);
    assert.equal(s.baselineTmpfsMedianSeconds, 30);
    assert.equal(s.ratioAgainst, 'tmpfs');
    assert.equal(s.ratio, 17 / 30);
    assert.equal(s.ratioTmpfs, 17 / 30);
    assert.equal(s.ratioDisk, 17 / 42);
    // 17/42 = 0.40 would pass; against the faster mmdebstrap, 0.57 does not.
    assert.equal(s.ratioPass, false);
  });

  it('takes the disk run when it is the faster one', () => {
    const s = summarize(comparison, twoWays(tool(20), tool(25), tool(8)));
    assert.equal(s.ratioAgainst, 'disk');
    assert.equal(s.ratio, 8 / 20);
    assert.equal(s.ratioPass, true);
  });

  it('does not count a tmpfs variant without good runs as the faster', () => {
    const failed: ToolResult = { runs: [run(1, 1)], error: 'run 1 exited 1' };
    const s = summarize(comparison, twoWays(tool(20), failed, tool(8)));
    assert.equal(s.baselineTmpfsMedianSeconds, undefined);
    assert.equal(s.ratioAgainst, 'disk');
    assert.equal(s.ratio, 8 / 20);
    const neither = summarize(comparison, twoWays(failed, failed, tool(8)));
    assert.equal(neither.ratio, undefined);
    assert.equal(neither.ratioAgainst, undefined);
  });

  it('keeps a comparison measured one way as it was', () => {
    const s = summarize(comparison, { name: 'x', architecture: 'amd64', notes: [], baseline: tool(20), kiln: tool(8) });
    assert.equal(s.ratio, 8 / 20);
    assert.equal(s.ratioAgainst, undefined);
    assert.equal('baselineTmpfsMedianSeconds' in s, false);
  });

  it('prints both mmdebstrap figures and says which one the ratio is against', () => {
    const text = formatReport(comparison, [twoWays(tool(40), tool(30), tool(15))], 1);
    const header = text.split('\n').find((l) => l.startsWith('case')) ?? '';
    assert.match(header, /mmdebstrap disk +mmdebstrap tmpfs +kiln +kiln\/mm \(faster\)/);
    const row = text.split('\n').find((l) => l.startsWith('bookworm amd64 minimal')) ?? '';
    assert.match(row, /40\.0 s +30\.0 s +15\.0 s +0\.50 \(tmpfs\) +0\.38 +0\.50/);
    assert.match(text, /PASS {2}bookworm amd64 minimal: kiln\/mmdebstrap 0\.50 \(against mmdebstrap tmpfs, the faster\) <= 0\.5/);
    assert.match(text, /runs \(bookworm amd64 minimal, mmdebstrap tmpfs\): 30\.00/);
  });

  it('names the tmpfs figures after the tool in the JSON', () => {
    const section = resultsSection(comparison, {}, [twoWays(tool(40), tool(30), tool(15))]) as { summary: Record<string, unknown>[]; cases: Record<string, unknown>[] };
    const summary = section.summary[0] as Record<string, unknown>;
    assert.equal(summary.mmdebstrapMedianSeconds, 40);
    assert.equal(summary.mmdebstrapTmpfsMedianSeconds, 30);
    assert.equal(summary.ratioAgainst, 'tmpfs');
    assert.ok((section.cases[0] as Record<string, unknown>).mmdebstrapTmpfs);
  });
});

describe('bench report: a foreign architecture against the host one', () => {
  const withForeign = { ...comparison, ratioTargets: { amd64: 0.5, arm64: 0.2 }, foreignOverNativeTarget: 1.5 };
  const cases = (): CaseResult[] => [
    twoWays(tool(40), tool(30), tool(20)),
    { name: 'bookworm arm64 minimal', architecture: 'arm64', foreign: true, notes: [], baseline: tool(200), baselineTmpfs: tool(180), kiln: tool(28, 26, 30), kilnFull: tool(42) },
  ];

  it('holds kiln arm64 over kiln amd64 to its target and shows the full-emulation gain', () => {
    const [amd64, arm64] = summarizeAll(withForeign, cases());
    assert.equal(amd64?.kilnOverNative, undefined);
    assert.equal(arm64?.kilnOverNative, 28 / 20);
    assert.equal(arm64?.kilnOverNativePass, true);
    assert.equal(arm64?.kilnFullMedianSeconds, 42);
    assert.equal(arm64?.fullOverTwins, 42 / 28);
  });

  it('prints the kiln-over-kiln row, the full-emulation variant and its runs', () => {
    const text = formatReport(withForeign, cases(), 3);
    assert.match(text, /bookworm arm64 minimal: kiln 28\.0 s \(native twins\), 42\.0 s \(full emulation, 1\.50x\); over kiln amd64 1\.40/);
    assert.match(text, /PASS {2}bookworm arm64 minimal: kiln\/kiln amd64 1\.40 <= 1\.5/);
    assert.match(text, /runs \(bookworm arm64 minimal, kiln full emulation\): 42\.00/);
  });

  it('puts the target and the ratio in the JSON', () => {
    const section = resultsSection(withForeign, {}, cases()) as { targets: Record<string, unknown>; summary: Record<string, unknown>[] };
    assert.equal(section.targets.foreignOverNative, 1.5);
    assert.equal(section.summary[1]?.kilnOverNative, 1.4);
  });
});

describe('bench results file: each comparison keeps its own section', () => {
  it('a run of mmdebstrap alone keeps the diff section there, and a diff run writes its own', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeResults } = await import('../../bench/report.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'kiln-bench-results-')), 'latest.json');
    writeFileSync(file, JSON.stringify({ cases: [], diff: { summary: { speedup: 12 } } }));
    writeResults(file, { mmdebstrap: { cases: ['new'] } });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { cases: ['new'], diff: { summary: { speedup: 12 } } });
    writeResults(file, { diff: { summary: { speedup: 20 } } });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).diff, { summary: { speedup: 20 } });
  });

  it('the boot run is written under boot and kept by the next mmdebstrap run', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeResults } = await import('../../bench/report.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'kiln-bench-results-')), 'latest.json');
    writeResults(file, { mmdebstrap: { cases: ['old'] } });
    writeResults(file, { boot: { cases: { 'boot-arm64': { login: 66.6 } } } });
    writeResults(file, { mmdebstrap: { cases: ['new'] } });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { cases: ['new'], boot: { cases: { 'boot-arm64': { login: 66.6 } } } });
  });
});
