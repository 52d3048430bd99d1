import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnmatch, fnmatchRegExp } from '../../src/util/fnmatch.ts';
import { globRegExp } from '../../src/pipeline/prune.ts';

test('fnmatch without flags: * and ? match / and a leading dot', () => {
  assert.ok(fnmatch('usr/lib/*.so', 'usr/lib/x/y.so'));
  assert.ok(fnmatch('*', '.hidden'));
  assert.ok(fnmatch('?ar', '.ar'));
  assert.ok(!fnmatch('usr/*.so', 'usr/lib.so.1'));
});

test('fnmatch with period: a leading dot only by a literal dot', () => {
  const period = { period: true };
  assert.ok(!fnmatch('*', '.hidden', period));
  assert.ok(!fnmatch('?idden', '.idden', period));
  assert.ok(!fnmatch('[.]x', '.x', period));
  assert.ok(fnmatch('.*', '.hidden', period));
  assert.ok(fnmatch('\\.h*', '.hidden', period));
  assert.ok(fnmatch('*.mo', 'de.mo', period));
});

test('fnmatch bracket expressions: ranges, negation, POSIX classes, a literal ] first', () => {
  assert.ok(fnmatch('[a-c]?', 'b1'));
  assert.ok(!fnmatch('[!a-c]?', 'b1'));
  assert.ok(fnmatch('[^a-c]?', 'd1'));
  assert.ok(fnmatch('[[:digit:]]*', '1x'));
  assert.ok(fnmatch('[]x]', ']'));
  assert.ok(fnmatch('[z-a]', 'z') === false, 'a reversed range matches nothing');
  assert.ok(fnmatch('a[', 'a['), 'a [ without ] is an ordinary character');
});

test('fnmatch: a trailing backslash is an error that matches nothing', () => {
  assert.equal(fnmatchRegExp('abc\\'), null);
  assert.ok(!fnmatch('abc\\', 'abc\\'));
  assert.ok(fnmatch('a\\*c', 'a*c') && !fnmatch('a\\*c', 'abc'));
});

test('prune.remove globs are fnmatch with FNM_PERIOD, POSIX classes included', () => {
  assert.ok(globRegExp('[[:digit:]]*.log').test('1.log'));
  assert.ok(!globRegExp('*.log').test('.1.log'));
  assert.ok(!globRegExp('abc\\').test('abc\\'));
});
