import assert from 'node:assert/strict';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlobStore } from '../../src/repo/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { listDir, sha256, testDir } from '../helpers/fixtures.ts';

test('pathFor lays blobs out by the first two hex digits and refuses non-digests', async (t) => {
  const store = new BlobStore(await testDir(t));
  const hex = sha256('x');
  assert.equal(store.pathFor(hex.toUpperCase()), join(store.dir, 'blobs', 'sha256', hex.slice(0, 2), hex));
  assert.throws(() => store.pathFor('../../etc/passwd'), UserError);
  assert.throws(() => store.pathFor(hex.slice(1)), UserError);
});

test('putBytes stores atomically, checks the digest, and leaves no temporaries', async (t) => {
  const store = new BlobStore(await testDir(t));
  const data = Buffer.from('hello blob');
  const { path, sha256: digest } = await store.putBytes(data);
  assert.equal(digest, sha256(data));
  assert.deepEqual(await readFile(path), data);
  assert.equal(await store.has(digest), true);
  assert.equal(await store.has(sha256('other')), false);
  await assert.rejects(store.putBytes(Buffer.from('evil'), sha256('good')), /does not match its checksum/);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('concurrent commits of the same blob both succeed', async (t) => {
  const store = new BlobStore(await testDir(t));
  const data = Buffer.alloc(100_000, 7);
  const digest = sha256(data);
  const temps = await Promise.all([store.createTemp(), store.createTemp(), store.createTemp()]);
  assert.equal(new Set(temps.map((x) => x.path)).size, 3);
  for (const temp of temps) await temp.handle.writeFile(data);
  const paths = await Promise.all(temps.map((temp) => temp.commit(digest)));
  assert.deepEqual(new Set(paths), new Set([store.pathFor(digest)]));
  assert.deepEqual(await readFile(store.pathFor(digest)), data);
  await Promise.all(temps.map((temp) => temp.discard()));
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('sweepTemporaries removes only stale temporaries', async (t) => {
  const store = new BlobStore(await testDir(t));
  const stale = await store.createTemp();
  const fresh = await store.createTemp();
  await stale.handle.close();
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(stale.path, hourAgo, hourAgo);
  await writeFile(join(store.tempDir, 'not-ours.txt'), 'keep');
  assert.equal(await store.sweepTemporaries(60_000), 1);
  await assert.rejects(stat(stale.path), { code: 'ENOENT' });
  assert.ok((await stat(fresh.path)).isFile());
  await fresh.discard();
  assert.deepEqual(await listDir(store.tempDir), ['not-ours.txt']);
  assert.equal(await new BlobStore(join(store.dir, 'missing')).sweepTemporaries(0), 0);
});
