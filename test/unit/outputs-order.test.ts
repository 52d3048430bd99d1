/** The writer that takes the tree away runs last, by what the writers' table declares. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writerOrder } from '../../src/outputs/index.ts';

test('a directory output (it may move the tree) is written after every tar, whatever the order asked', () => {
  assert.deepEqual(writerOrder(['directory', 'tar.zst', 'tar']), ['tar.zst', 'tar', 'directory']);
  assert.deepEqual(writerOrder(['tar', 'directory', 'tar.gz']), ['tar', 'tar.gz', 'directory']);
  assert.deepEqual(writerOrder(['tar.xz']), ['tar.xz']);
});
