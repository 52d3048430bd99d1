/**
 * apk's version order: pairs taken from the cases Alpine's own test suite
 * and the apk-package(5) grammar give (numbers, a letter, pre- and
 * post-release suffixes, leading zeros after a dot, -rN, ~hash), and the
 * fuzzy `~` match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareApkVersions, isValidApkVersion } from '../../src/formats/apk/version.ts';

/** `a OP b` with OP one of < = >. */
const PAIRS = `
2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha2 > 0.1.0_alpha
1.0.4-r3 < 1.0.4-r4
1.1 > 1.1_alpha1
1.2.1 > 1.2
1.3_alpha2 < 1.3_alpha3
0.8_beta4 < 4.8-r1
3.10.18-r1 > 2.3.0b-r1
2.3.0b-r3 < 2.3.0b-r4
0.12.3 > 0.12
0.13_beta5 > 0.9.12
3.1_p16 < 3.1_p17
1.06-r6 < 006
1.2.2-r1 > 1.2.2
2.59 < 20050718-r1
3.9.8-r5 > 2.01.01_alpha10
1.0 > 0.99.3.20040818
2.0.0_rc3-r1 > 1.5
0.10.0 < 0.10.1_rc1
3.9_pre20060124 > 0.01
2.10.1 > 02.08.01b
2.5.1-r8 < 2.5.1a-r1
1.7 < 1.7b
1.8.5 < 1.8.5_p2
4.5_p1-r1 > 4.5_p1
0.9.8c-r1 < 0.9.8d
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
0.9.28-r2 < 0.9.28.1
20040406-r1 > 2.12r-r4
7.0.17 < 7.0.174
0.20070118 < 0.20070207_rc1
1.02 < 1.03-r1
1.0.2 > 1.0.1
1.0.0 = 1.0.0
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
1.0_rc1 < 1.0
1.0 < 1.0_cvs
1.0_cvs < 1.0_svn
1.0_svn < 1.0_git
1.0_git < 1.0_hg
1.0_hg < 1.0_p1
1.0_alpha < 1.0_beta
1.0_beta < 1.0_pre
1.0_pre < 1.0_rc
1.01 < 1.1
1.0-r1 < 1.0-r10
1.0-r9 < 1.0-r10
1.2~abc123-r0 = 1.2~def456-r0
1.2~abc123-r1 > 1.2~abc123-r0
`;

function parsePairs(text: string): [string, string, string][] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/) as [string, string, string]);
}

const EXPECT: Record<string, number> = { '<': -1, '=': 0, '>': 1 };

test('apk version pairs compare as apk compares them, both ways round', () => {
  for (const [a, op, b] of parsePairs(PAIRS)) {
    assert.equal(compareApkVersions(a, b), EXPECT[op], `${a} ${op} ${b}`);
    assert.equal(compareApkVersions(b, a), -(EXPECT[op] as number) || 0, `${b} against ${a}`);
  }
});

test('~ matches a version whose leading tokens are the constraint', () => {
  assert.equal(compareApkVersions('1.2.3-r4', '1.2', true), 0);
  assert.equal(compareApkVersions('1.2', '1.2', true), 0);
  assert.equal(compareApkVersions('1.3', '1.2', true), 1);
  assert.equal(compareApkVersions('1.1.9', '1.2', true), -1);
});

test('the grammar: valid and invalid versions', () => {
  for (const v of ['1', '1.2.3', '1.2a', '1.2_rc1', '1.2_alpha_pre2', '1.0~c0ffee-r3', '20240101-r0', '2.3.0b-r1']) assert.ok(isValidApkVersion(v), v);
  for (const v of ['1.0bc', '1.0-x', '1.0_foo', '1.0-r1_rc1']) assert.ok(!isValidApkVersion(v), v);
});
