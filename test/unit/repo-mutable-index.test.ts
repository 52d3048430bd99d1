/**
 * A mutable signed index (pacman's REPO.db, later apk's APKINDEX.tar.gz) is
 * asked for on every build but downloaded again only when the mirror says it
 * changed: a 304 answer reuses the copy in the download store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlobStore, fetchMutableIndex } from '../../src/repo/index.ts';
import { startMirror } from '../helpers/mirror-server.ts';

function setup(t: { after(fn: () => unknown): void }) {
  const work = mkdtempSync(join(tmpdir(), 'kiln-mutable-index-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  mkdirSync(join(work, 'mirror'));
  const ctx = { store: new BlobStore(join(work, 'cache/downloads')), memoDir: join(work, 'cache/plans') };
  return { work, ctx };
}

test('an unchanged index is answered with 304 and read from the store; a changed one is downloaded again', async (t) => {
  const { work, ctx } = setup(t);
  const file = join(work, 'mirror/core.db');
  writeFileSync(file, 'first version');
  utimesSync(file, 1_700_000_000, 1_700_000_000);
  const mirror = await startMirror(join(work, 'mirror'));
  t.after(() => mirror.close());
  const req = { url: `${mirror.url}/core.db`, name: 'core.db', recordKind: 'test-db' };

  assert.equal((await fetchMutableIndex(ctx, req))?.toString(), 'first version');
  assert.equal((await fetchMutableIndex(ctx, req))?.toString(), 'first version');
  assert.deepEqual(mirror.log.map((l) => l.status), [200, 304], 'the second fetch is a conditional request answered 304');

  writeFileSync(file, 'second version');
  utimesSync(file, 1_700_000_100, 1_700_000_100);
  assert.equal((await fetchMutableIndex(ctx, req))?.toString(), 'second version');
  assert.equal(mirror.log.at(-1)?.status, 200);
});

test('a copy gone from the store is downloaded whole, not asked for conditionally', async (t) => {
  const { work, ctx } = setup(t);
  writeFileSync(join(work, 'mirror/extra.db'), 'extra');
  const mirror = await startMirror(join(work, 'mirror'));
  t.after(() => mirror.close());
  const req = { url: `${mirror.url}/extra.db`, name: 'extra.db', recordKind: 'test-db' };
  await fetchMutableIndex(ctx, req);
  await ctx.store.remove(createHash('sha256').update('extra').digest('hex'));
  assert.equal((await fetchMutableIndex(ctx, req))?.toString(), 'extra');
  assert.deepEqual(mirror.log.map((l) => l.status), [200, 200]);
});

test('an index the mirror does not have is undefined', async (t) => {
  const { work, ctx } = setup(t);
  const mirror = await startMirror(join(work, 'mirror'));
  t.after(() => mirror.close());
  assert.equal(await fetchMutableIndex(ctx, { url: `${mirror.url}/nope.db`, name: 'nope.db', recordKind: 'test-db' }), undefined);
});
