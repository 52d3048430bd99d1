import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import {
  comparePacmanVersions,
  formatRelation,
  packageSatisfies,
  parseRelation,
  provisionSatisfies,
  relationSatisfiedBy,
  satisfies,
} from '../../src/formats/pacman/version.ts';
import { seededRandom } from '../helpers/fixtures.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

test('orders hand-picked versions like vercmp', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0', '1.0-1', 0], // pkgrel only counts when both have one
    ['1.0-1', '1.0-2', -1],
    ['1.0-2', '1.0-1.1', 1],
    ['1.0-1.1', '1.0-1', 1],
    ['1:0.1', '2.0', 1],
    [':1.0', '1.0', 0], // an empty epoch is 0
    ['0:1.0', '1.0', 0],
    ['a:1.0', '1.0', -1], // not an epoch: pkgver 'a:1.0', whose first segment is letters
    ['1.0~rc1', '1.0', 1], // `~` is an ordinary separator for pacman
    ['1.0rc1', '1.0', -1],
    ['1.0a', '1.0', -1],
    ['1.0', '1.0.', -1],
    ['1.0.', '1.0.0', -1],
    ['1.0', '1.0.1', -1],
    ['1_0', '1.0', 0],
    ['1..0', '1.0', 1],
    ['1.01', '1.1', 0],
    ['1.001', '1.1', 0],
    ['1.a', '1.1', -1],
    ['1.2.3', '1.2.10', -1],
    ['r123.abcdef', 'r124.abc', -1],
    ['6.6.8.arch1-1', '6.6.8.arch2-1', -1],
    ['6.6.8.arch1-1', '6.6.10.arch1-1', -1],
    ['20231115.f0f4b4c-1', '20231116.0a1b2c3-1', -1],
    ['1.99999999999999999999999', '1.100000000000000000000000', -1],
    ['1é', '1', 1], // bytes that are not ASCII are separators
    ['1.é1', '1...1', 0], // and count as two bytes of separator
  ];
  for (const [a, b, expected] of cases) {
    assert.equal(comparePacmanVersions(a, b), expected, `${a} vs ${b}`);
    assert.equal(comparePacmanVersions(b, a), 0 - expected || 0, `${b} vs ${a}`);
  }
});

test('satisfies: every operator, and a wanted version without pkgrel ignores the candidate’s', () => {
  assert.ok(satisfies('1.2-3', undefined, undefined));
  assert.ok(satisfies('1.2-3', '>=', '1.2'));
  assert.ok(satisfies('1.2-3', '=', '1.2'));
  assert.ok(satisfies('1.2-3', '<=', '1.2'));
  assert.ok(!satisfies('1.2-3', '<', '1.2'));
  assert.ok(!satisfies('1.2-3', '>', '1.2'));
  assert.ok(!satisfies('1.2-3', '=', '1.2-4'));
  assert.ok(satisfies('1.2-3', '<', '1.2-4'));
  assert.ok(satisfies('1:1.0-1', '>', '9.9'));
  assert.ok(!satisfies('1.0', '<', '1.0-9')); // neither side of the comparison looks at pkgrel
});

test('parseRelation follows alpm_dep_from_string', () => {
  assert.deepEqual(parseRelation('foo'), { name: 'foo' });
  assert.deepEqual(parseRelation('foo>=1.2-3'), { name: 'foo', op: '>=', version: '1.2-3' });
  assert.deepEqual(parseRelation('foo<=1'), { name: 'foo', op: '<=', version: '1' });
  assert.deepEqual(parseRelation('foo<1'), { name: 'foo', op: '<', version: '1' });
  assert.deepEqual(parseRelation('foo>1:2'), { name: 'foo', op: '>', version: '1:2' });
  assert.deepEqual(parseRelation('libfoo.so=1-64'), { name: 'libfoo.so', op: '=', version: '1-64' });
  assert.deepEqual(parseRelation('gamma: for gamma things'), { name: 'gamma', description: 'for gamma things' });
  assert.deepEqual(parseRelation('gamma>=2: needs: colons'), { name: 'gamma', op: '>=', version: '2', description: 'needs: colons' });
  assert.deepEqual(parseRelation('foo=1:2.0'), { name: 'foo', op: '=', version: '1:2.0' }); // ':' without a space is an epoch
  for (const text of ['foo', 'foo>=1.2-3', 'libfoo.so=1-64', 'gamma: for gamma things', 'a<2: b']) {
    assert.equal(formatRelation(parseRelation(text)), text);
  }
});

test('a versioned provision satisfies versioned relations; a bare one only unversioned ones', () => {
  const sh52 = parseRelation('sh=5.2');
  const sh = parseRelation('sh');
  const shAtLeast = parseRelation('sh>=5');
  assert.ok(provisionSatisfies(parseRelation('sh>=5'), sh52));
  assert.ok(provisionSatisfies(parseRelation('sh'), sh52));
  assert.ok(!provisionSatisfies(parseRelation('sh>=6'), sh52));
  assert.ok(provisionSatisfies(parseRelation('sh=5.2-1'), sh52)); // the provision has no pkgrel
  assert.ok(provisionSatisfies(parseRelation('sh'), sh));
  assert.ok(!provisionSatisfies(parseRelation('sh>=1'), sh));
  assert.ok(!provisionSatisfies(parseRelation('sh>=1'), shAtLeast)); // only `=` provisions carry a version
  assert.ok(!provisionSatisfies(parseRelation('bash'), sh52));

  assert.ok(relationSatisfiedBy(parseRelation('bash>=5'), 'bash', '5.2.015-1'));
  assert.ok(!relationSatisfiedBy(parseRelation('bash>=6'), 'bash', '5.2.015-1'));
  assert.ok(!relationSatisfiedBy(parseRelation('sh'), 'bash', '5.2.015-1'));
  const bash = { name: 'bash', version: '5.2.015-1', provides: [sh52] };
  assert.ok(packageSatisfies(bash, parseRelation('sh>=5')));
  assert.ok(packageSatisfies(bash, parseRelation('bash')));
  assert.ok(!packageSatisfies(bash, parseRelation('sh<5')));
});


const REAL_LOOKING = [
  '2.39-1', '2.39-2', '2.39.1-1', '1:4.0.2-1', '1:4.0.2-2', '4.0.2-1', '6.6.8.arch1-1', '6.6.8.arch1-2', '6.6.10.arch1-1',
  '20231115.f0f4b4c-1', '20231115.f0f4b4d-1', '20240101.0a1b2c3-1', 'r123.abcdef-1', 'r1234.0fedcba-1', '1.2.3.r45.g6789abc-1',
  '2:1.2.3-1', '5.2.015-1', '5.2.021-1', '1.0rc1-1', '1.0-1', '1.0.0-1', '1.0_beta2-1', '1.0beta2-1', '0.9.9+git20240101-1',
  '3.11.6-1', '3.11.10-1', '1:1.36.1-1', '9.0.2200-1', '2.42.0-1.1', '2.42.0-1.2', '7.4.2-1', '24.04.1-3', '1.1.1w-1', '3.2.0-1',
];
const NUMBERS = ['0', '1', '2', '9', '10', '11', '00', '01', '007', '100', '2024', '20231115', '4294967296', '99999999999999999999'];
const WORDS = ['a', 'b', 'z', 'A', 'rc', 'rc1', 'alpha', 'beta', 'pre', 'git', 'arch', 'r', 'g6789abc', 'abc', 'abd', 'p1', '1a', 'a1b2'];
const SEPARATORS = ['.', '.', '.', '.', '_', '+', '~', '..', '', '', '%', 'é'];
const PKGRELS = ['1', '1', '2', '10', '0', '01', '1.1', '1.2', '2.5', '1a'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function randomPkgver(random: () => number): string {
  let text = random() < 0.8 ? pick(random, NUMBERS) : pick(random, WORDS);
  const segments = Math.floor(random() * 5);
  for (let k = 0; k < segments; k++) text += pick(random, SEPARATORS) + (random() < 0.65 ? pick(random, NUMBERS) : pick(random, WORDS));
  if (random() < 0.05) text += pick(random, SEPARATORS); // trailing separator
  return text;
}

function randomVersion(random: () => number): string {
  const epoch = random() < 0.15 ? `${pick(random, ['0', '1', '2', '10', '01', ''])}:` : '';
  const pkgrel = random() < 0.7 ? `-${pick(random, PKGRELS)}` : '';
  return `${epoch}${randomPkgver(random)}${pkgrel}`;
}

/** A version close to `v`: one character or segment changed, or a part added or dropped. */
function neighbour(random: () => number, v: string): string {
  switch (Math.floor(random() * 7)) {
    case 0:
      return v.replace(/\d+/, (digits) => `0${digits}`);
    case 1:
      return v.includes('-') ? v.slice(0, v.lastIndexOf('-')) : `${v}-1`;
    case 2:
      return v.includes(':') ? v.slice(v.indexOf(':') + 1) : `1:${v}`;
    case 3: {
      const at = Math.floor(random() * v.length);
      return v.slice(0, at) + pick(random, [...SEPARATORS, ...NUMBERS, ...WORDS]) + v.slice(at + 1);
    }
    case 4:
      return `${v}${pick(random, SEPARATORS)}${pick(random, [...NUMBERS, ...WORDS])}`;
    case 5:
      return v.replace(/[._+~]/, pick(random, SEPARATORS));
    default:
      return v.replace(/\d+$/, (digits) => String(Number(digits) + 1));
  }
}

function corpus(): [string, string][] {
  const random = seededRandom(0x6b696c6e);
  const pairs: [string, string][] = [];
  for (const a of REAL_LOOKING) for (const b of REAL_LOOKING) if (a < b) pairs.push([a, b]);
  for (let k = 0; k < 2500; k++) pairs.push([randomVersion(random), randomVersion(random)]);
  for (let k = 0; k < 2500; k++) {
    const v = random() < 0.3 ? pick(random, REAL_LOOKING) : randomVersion(random);
    pairs.push([v, neighbour(random, v)]);
  }
  // vercmp reads its arguments as options when they start with '-'.
  return pairs.filter(([a, b]) => !a.startsWith('-') && !b.startsWith('-'));
}

/** Ask the real vercmp about every pair: one shell loop per CPU, each reading tab-separated pairs. */
async function vercmpOrders(pairs: [string, string][]): Promise<number[]> {
  const lanes = Math.max(1, Math.min(availableParallelism(), 8));
  const size = Math.ceil(pairs.length / lanes);
  const script = 'while IFS="$(printf "\\t")" read -r a b; do vercmp "$a" "$b"; done';
  const runs = Array.from({ length: lanes }, (_, lane) => {
    const input = pairs
      .slice(lane * size, (lane + 1) * size)
      .map(([a, b]) => `${a}\t${b}\n`)
      .join('');
    return new Promise<number[]>((resolve, reject) => {
      const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`vercmp loop exited with ${code}`));
        resolve(output.split('\n').filter(Boolean).map(Number));
      });
      child.stdin.end(input);
    });
  });
  return (await Promise.all(runs)).flat();
}

const skipVercmp = skipOrFail(missingTools(['vercmp']));

test('agrees with the real vercmp on ~6000 generated pairs', { skip: skipVercmp }, async () => {
  const pairs = corpus();
  assert.ok(pairs.length > 5000, `only ${pairs.length} pairs`);
  const expected = await vercmpOrders(pairs);
  assert.equal(expected.length, pairs.length);
  const mismatches = pairs
    .map(([a, b], i) => ({ a, b, kiln: comparePacmanVersions(a, b), vercmp: expected[i] }))
    .filter((row) => row.kiln !== row.vercmp);
  assert.deepEqual(mismatches.slice(0, 10), []);
  // The corpus must exercise all three answers, not just one.
  for (const answer of [-1, 0, 1]) assert.ok(expected.filter((order) => order === answer).length > 200, `few ${answer} answers`);
});
