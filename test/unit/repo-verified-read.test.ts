/**
 * The download cache is never trusted by name: a cached file whose bytes no
 * longer hash to its name is removed, said in a warning and downloaded again.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { BlobStore, downloadToStore, readVerified } from '../../src/repo/index.ts';
import { UserError } from '../../src/util/errors.ts';
import type { KilnEvent } from '../../src/util/events.ts';
import { randomFile, sha256, testDir } from '../helpers/fixtures.ts';
import { startMirror } from '../helpers/mirror-server.ts';

async function setup(t: TestContext) {
  const root = await testDir(t, 'kiln-mirror-');
  const file = await randomFile(root, '/pool/p.deb', 70_000);
  const mirror = await startMirror(root);
  t.after(() => mirror.close());
  const store = new BlobStore(await testDir(t, 'kiln-cache-'));
  const item = { urls: [mirror.url + file.path], sha256: file.sha256, size: file.data.length, name: 'p' };
  return { root, file, mirror, store, item };
}

test('a cached file with the right bytes is read without a request', async (t) => {
  const { file, mirror, store, item } = await setup(t);
  await downloadToStore(store, item, { retryDelayMs: 5 });
  const before = mirror.requests.length;
  assert.ok((await readVerified(store, item)).equals(file.data));
  assert.equal(mirror.requests.length, before);
});

test('a cached file whose bytes were replaced (its sha256 name kept) is removed, warned about and downloaded again', async (t) => {
  const { file, mirror, store, item } = await setup(t);
  await downloadToStore(store, item, { retryDelayMs: 5 });
  await writeFile(store.pathFor(file.sha256), Buffer.alloc(file.data.length, 1));
  const events: KilnEvent[] = [];
  const before = mirror.requests.length;
  const data = await readVerified(store, item, { emit: (e) => events.push(e), retryDelayMs: 5 });
  assert.ok(data.equals(file.data), 'the good bytes are returned');
  assert.ok((await readFile(store.pathFor(file.sha256))).equals(file.data), 'and the cache holds them again');
  assert.equal(mirror.requests.length, before + 1);
  const warnings = events.filter((e) => e.kind === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
  assert.deepEqual(warnings, [`the cached p does not match its sha256 ${file.sha256} (it hashes to ${sha256(Buffer.alloc(file.data.length, 1))}): removed, downloading it again`]);
});

test('when the mirror has bad bytes too, the build fails and the bad cached copy stays removed', async (t) => {
  const { root, file, store, item } = await setup(t);
  await downloadToStore(store, item, { retryDelayMs: 5 });
  await writeFile(store.pathFor(file.sha256), 'damaged');
  await writeFile(`${root}${file.path}`, Buffer.alloc(file.data.length, 2));
  await assert.rejects(readVerified(store, item, { retryDelayMs: 5 }), (err: Error) => err instanceof UserError && /sha256/.test(err.message));
  assert.equal(await store.has(file.sha256), false);
});
