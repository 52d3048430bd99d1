import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRelationGroup, parseRelations } from '../../src/formats/deb/relations.ts';
import { UserError } from '../../src/util/errors.ts';

test('parses AND groups of OR alternatives with versions, qualifiers and arch lists', () => {
  const relations = parseRelations(
    'libc6 (>= 2.34), default-mta | mail-transport-agent, python3:any (>=3.11~),\n perl:native, ' +
      'foo [amd64 !i386], bar (<< 2) <!nocheck> <stage1 cross>, baz:arm64 (= 1:2.3-4)',
  );
  assert.deepEqual(relations, [
    [{ name: 'libc6', op: '>=', version: '2.34' }],
    [{ name: 'default-mta' }, { name: 'mail-transport-agent' }],
    [{ name: 'python3', archQualifier: 'any', op: '>=', version: '3.11~' }],
    [{ name: 'perl', archQualifier: 'native' }],
    [{ name: 'foo', archRestriction: ['amd64', '!i386'] }],
    [{ name: 'bar', op: '<<', version: '2' }],
    [{ name: 'baz', archQualifier: 'arm64', op: '=', version: '1:2.3-4' }],
  ]);
});

test('reads the obsolete < and > as <= and >=', () => {
  assert.deepEqual(parseRelations('a (< 1), b (> 2)'), [
    [{ name: 'a', op: '<=', version: '1' }],
    [{ name: 'b', op: '>=', version: '2' }],
  ]);
});

test('skips empty entries and rejects malformed ones', () => {
  assert.deepEqual(parseRelations(''), []);
  assert.deepEqual(parseRelations(' a , , b ,'), [[{ name: 'a' }], [{ name: 'b' }]]);
  for (const bad of ['a (>= )', 'a (~ 1)', 'a | | b', 'a b', 'a (>= 1', 'a)', ':any']) {
    assert.throws(() => parseRelations(bad), UserError, bad);
  }
});

test('formats relations back for messages', () => {
  const [group] = parseRelations('a:any (>= 1) | b');
  assert.equal(formatRelationGroup(group!), 'a:any (>= 1) | b');
});
