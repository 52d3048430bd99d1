import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compareVersions, satisfiesVersion } from '../../src/formats/deb/version.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

test('orders hand-picked tricky versions like dpkg', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~~a', '1.0~~', 1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0+', -1],
    ['1.0+', '1.0.', -1],
    ['1.0+dfsg-1', '1.0-1', 1],
    ['1:0.1', '2.0', 1],
    ['10:1', '9:2', 1],
    ['1.0-0', '1.0', 0],
    ['0:1.0', '1.0', 0],
    ['00:1.0-00', '1.0', 0],
    ['1.01', '1.1', 0],
    ['1.0-1', '1.0-1ubuntu1', -1],
    ['1.2.3', '1.2.10', -1],
    ['1.0-1-2', '1.0-1-1', 1],
    ['1:1.0:1-1', '1:1.0-1', 1],
    ['~~', '~', -1],
    ['~', '0', -1],
    ['a', '1', 1],
    ['1.0.0', '1.0', 1],
    ['2.30-1+b1', '2.30-1', 1],
    ['1.99999999999999999999999', '1.100000000000000000000000', -1],
    ['1.9007199254740993', '1.9007199254740992', 1],
    ['1.000000000000000000000000000001', '1.1', 0],
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(sign(compareVersions(a, b)), expected, `${a} vs ${b}`);
    assert.equal(sign(compareVersions(b, a)), 0 - expected || 0, `${b} vs ${a}`);
  }
});

test('satisfiesVersion understands every operator, including the obsolete < and >', () => {
  assert.ok(satisfiesVersion('1.0', '<<', '1.1'));
  assert.ok(!satisfiesVersion('1.1', '<<', '1.1'));
  assert.ok(satisfiesVersion('1.1', '<=', '1.1'));
  assert.ok(satisfiesVersion('1.1', '<', '1.1'));
  assert.ok(!satisfiesVersion('1.2', '<', '1.1'));
  assert.ok(satisfiesVersion('1.1-0', '=', '1.1'));
  assert.ok(!satisfiesVersion('1.1-1', '=', '1.1'));
  assert.ok(satisfiesVersion('1.1', '>=', '1.1~'));
  assert.ok(satisfiesVersion('1.1', '>', '1.1'));
  assert.ok(!satisfiesVersion('1.0', '>', '1.1'));
  assert.ok(satisfiesVersion('1:0.1', '>>', '9.9'));
  assert.ok(!satisfiesVersion('9.9', '>>', '9.9'));
});

/** A small seeded generator (mulberry32), so the pairs are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Versions that are equal, or nearly so, to `v` under dpkg's rules. */
function equalishVariants(v: string): string[] {
  const variants = [v.includes(':') ? v : `0:${v}`, v.replace(/\d+/, (digits) => `0${digits}`), `${v}~`, `${v}+`];
  if (!v.slice(v.indexOf(':') + 1).includes('-')) variants.push(`${v}-0`);
  return variants;
}

function corpusPairs(): [string, string][] {
  const url = new URL('../fixtures/deb-versions.txt', import.meta.url);
  const versions = readFileSync(url, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  const pairs: [string, string][] = [];
  // Neighbours in sorted order share long prefixes: the hard cases.
  for (let i = 0; i + 1 < versions.length; i += 4) pairs.push([versions[i]!, versions[i + 1]!]);
  const shuffled = [...versions];
  const random = seededRandom(20240611);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  for (let i = 0; i + 1 < shuffled.length; i += 2) pairs.push([shuffled[i]!, shuffled[i + 1]!]);
  for (let i = 0; i < versions.length; i += 20) {
    for (const variant of equalishVariants(versions[i]!)) pairs.push([versions[i]!, variant]);
  }
  return pairs;
}

const OPS = ['lt', 'eq', 'gt'] as const;
type Op = (typeof OPS)[number];
const ORDER_OF: Record<Op, number> = { lt: -1, eq: 0, gt: 1 };

/**
 * Ask the real dpkg about every pair, in one shell process. dpkg answers one
 * yes/no question per run, so each pair's first question is the order kiln
 * found: one run per pair when kiln is right, two when it is wrong, and the
 * answer is dpkg's own either way.
 */
function dpkgOrders(pairs: [string, string][]): number[] {
  const script =
    'while IFS="\t" read -r a b first second; do ' +
    'if dpkg --compare-versions "$a" "$first" "$b"; then echo "$first"; ' +
    'elif dpkg --compare-versions "$a" "$second" "$b"; then echo "$second"; else echo other; fi; done';
  const questions = pairs.map(([a, b]) => {
    const kiln = OPS[sign(compareVersions(a, b)) + 1]!;
    const [second, third] = OPS.filter((op) => op !== kiln) as [Op, Op];
    return { line: `${a}\t${b}\t${kiln}\t${second}\n`, kiln, second, third };
  });
  const input = questions.map((question) => question.line).join('');
  const result = spawnSync('sh', ['-c', script], { input, encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout
    .trim()
    .split('\n')
    .map((answer, i) => ORDER_OF[answer === 'other' ? questions[i]!.third : (answer as Op)]);
}

const skipDpkg = skipOrFail(missingTools(['dpkg']));

test('agrees with dpkg --compare-versions on ~3000 pairs of real versions', { skip: skipDpkg }, () => {
  const pairs = corpusPairs();
  assert.ok(pairs.length > 2500, `only ${pairs.length} pairs`);
  const expected = dpkgOrders(pairs);
  assert.equal(expected.length, pairs.length);
  const mismatches = pairs
    .map(([a, b], i) => ({ a, b, kiln: sign(compareVersions(a, b)), dpkg: expected[i] }))
    .filter((row) => row.kiln !== row.dpkg);
  assert.deepEqual(mismatches.slice(0, 10), []);
});
