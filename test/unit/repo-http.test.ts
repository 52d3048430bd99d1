import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BlobStore, downloadAll, downloadToStore, fetchBytes, fetchIfChanged, type HttpOptions } from '../../src/repo/index.ts';
import { UserError } from '../../src/util/errors.ts';
import type { KilnEvent } from '../../src/util/events.ts';
import { listDir, randomFile, sha256, testDir, type FixtureFile } from '../helpers/fixtures.ts';
import { startMirror, unusedPort, type Fault, type Mirror } from '../helpers/mirror-server.ts';

const FAST: HttpOptions = { retryDelayMs: 5 };

async function setup(t: TestContext, files: Record<string, number>, faults: Record<string, Fault> = {}) {
  const root = await testDir(t, 'kiln-mirror-');
  const fixtures: Record<string, FixtureFile> = {};
  for (const [path, size] of Object.entries(files)) fixtures[path] = await randomFile(root, path, size);
  const mirror = await startMirror(root, { faults });
  t.after(() => mirror.close());
  const store = new BlobStore(await testDir(t, 'kiln-cache-'));
  return { mirror, store, fixtures };
}

function item(mirror: Mirror, file: FixtureFile, withSize = true) {
  return { urls: [mirror.url + file.path], sha256: file.sha256, size: withSize ? file.data.length : undefined, name: file.path.slice(1) };
}

function get(fixtures: Record<string, FixtureFile>, path: string): FixtureFile {
  const file = fixtures[path];
  assert.ok(file, path);
  return file;
}

/** The client asked for the rest from what it had; it may have lost a little of what the server sent. */
function assertResumedFrom(range: string | undefined, sent: number): void {
  const start = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]);
  assert.ok(start > 0 && start <= sent, `range ${range}`);
}

test('parallel downloads land in the store with the right hashes, and a second run is a cache hit', async (t) => {
  const sizes = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`/pool/p${i}.deb`, 50_000 + i * 7_919]));
  const { mirror, store, fixtures } = await setup(t, sizes);
  const events: KilnEvent[] = [];
  const items = Object.values(fixtures).map((f) => item(mirror, f));
  const results = await downloadAll(store, items, { ...FAST, concurrency: 8, emit: (e) => events.push(e) });
  assert.equal(results.length, 12);
  for (const [i, result] of results.entries()) {
    const file = Object.values(fixtures)[i] as FixtureFile;
    assert.equal(result.cached, false);
    assert.equal(result.sha256, file.sha256);
    assert.equal(result.path, store.pathFor(file.sha256));
    assert.equal(sha256(await readFile(result.path)), file.sha256);
  }
  assert.equal(events.filter((e) => e.kind === 'download-start').length, 12);
  assert.equal(events.filter((e) => e.kind === 'download-end').length, 12);
  assert.equal(mirror.requests.length, 12);

  const again = await downloadAll(store, items, FAST);
  assert.ok(again.every((r) => r.cached));
  assert.equal(mirror.requests.length, 12, 'no request for cached blobs');
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('a truncated answer is resumed with a Range request', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/big.bin': 300_000 }, { '/big.bin': { truncateAfter: 100_000 } });
  const file = get(fixtures, '/big.bin');
  const result = await downloadToStore(store, item(mirror, file), FAST);
  assert.equal(result.sha256, file.sha256);
  assert.equal(mirror.log.length, 2);
  assert.equal(mirror.log[1]?.status, 206);
  assertResumedFrom(mirror.log[1]?.range, 100_000);
  assert.deepEqual(await readFile(result.path), file.data);
});

test('a 200 answer to a Range request is taken from the start', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/big.bin': 300_000 }, { '/big.bin': { truncateAfter: 100_000, ignoreRange: true } });
  const file = get(fixtures, '/big.bin');
  const result = await downloadToStore(store, item(mirror, file), FAST);
  assert.equal(result.sha256, file.sha256);
  assert.equal(mirror.log[1]?.status, 200);
  assertResumedFrom(mirror.log[1]?.range, 100_000);
  assert.deepEqual(await readFile(result.path), file.data);
});

test('a corrupt file is fetched once more, then reported with both hashes', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/bad.deb': 10_000 }, { '/bad.deb': { corrupt: true } });
  const file = get(fixtures, '/bad.deb');
  const corruptHash = sha256(Buffer.from(file.data.map((b) => b ^ 0xff)));
  await assert.rejects(downloadToStore(store, item(mirror, file), FAST), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^mirror served a corrupt file: bad\.deb from http:\/\/127\.0\.0\.1:\d+\/bad\.deb/);
    assert.ok(err.message.includes(file.sha256) && err.message.includes(corruptHash), err.message);
    return true;
  });
  assert.equal(mirror.requests.length, 2);
  assert.equal(await store.has(file.sha256), false);
  assert.equal(await store.has(corruptHash), false);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('a file corrupt once is fine the second time; a file longer than announced is corrupt', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/once.deb': 10_000, '/long.deb': 10_000 }, { '/once.deb': { corrupt: true, corruptTimes: 1 } });
  const once = get(fixtures, '/once.deb');
  assert.equal((await downloadToStore(store, item(mirror, once), FAST)).sha256, once.sha256);
  const long = get(fixtures, '/long.deb');
  await assert.rejects(
    downloadToStore(store, { ...item(mirror, long), sha256: undefined, size: 5_000 }, FAST),
    /mirror served a corrupt file: long\.deb .*expected 5000 bytes/,
  );
});

test('404 is a UserError naming the URL, without retries', async (t) => {
  const { mirror, store } = await setup(t, {});
  const url = `${mirror.url}/pool/missing.deb`;
  await assert.rejects(downloadToStore(store, { urls: [url], sha256: sha256('x'), name: 'missing.deb' }, FAST), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.message, `not found on the mirror: ${url} (HTTP 404 Not Found)`);
    return true;
  });
  assert.equal(mirror.requests.length, 1);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('an unreachable mirror is a UserError with a hint about the mirror setting', async (t) => {
  const store = new BlobStore(await testDir(t));
  const port = await unusedPort();
  const events: KilnEvent[] = [];
  const started = Date.now();
  await assert.rejects(
    downloadToStore(store, { urls: [`http://127.0.0.1:${port}/x.deb`], name: 'x.deb' }, { ...FAST, emit: (e) => events.push(e) }),
    (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, `cannot reach mirror http://127.0.0.1:${port}: connection refused`);
      assert.match(err.hint ?? '', /"mirror" setting/);
      return true;
    },
  );
  assert.equal(events.filter((e) => e.kind === 'log' && e.level === 'warn').length, 2, 'two retries');
  assert.ok(Date.now() - started < 2_000);
});

test('500 twice then OK succeeds; 500 forever fails after 3 requests', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/flaky.deb': 20_000, '/down.deb': 10 }, {
    '/flaky.deb': { failFirst: 2 },
    '/down.deb': { failFirst: 1_000 },
  });
  const flaky = get(fixtures, '/flaky.deb');
  assert.equal((await downloadToStore(store, item(mirror, flaky), FAST)).sha256, flaky.sha256);
  assert.equal(mirror.requests.filter((p) => p === '/flaky.deb').length, 3);
  await assert.rejects(
    downloadToStore(store, item(mirror, get(fixtures, '/down.deb')), FAST),
    /^UserError: mirror http:\/\/127\.0\.0\.1:\d+ answered HTTP 500 Internal Server Error for http:.*\/down\.deb$/,
  );
  assert.equal(mirror.requests.filter((p) => p === '/down.deb').length, 3);
});

test('the next mirror is tried when the first one fails', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/a.deb': 1_000 });
  const file = get(fixtures, '/a.deb');
  const port = await unusedPort();
  const result = await downloadToStore(store, { ...item(mirror, file), urls: [`http://127.0.0.1:${port}/a.deb`, `${mirror.url}/a.deb`] }, FAST);
  assert.equal(result.url, `${mirror.url}/a.deb`);
  assert.equal(result.sha256, file.sha256);
});

test('two concurrent downloads of the same blob both succeed and leave no temporaries', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/same.deb': 500_000 }, { '/same.deb': { trickle: { chunkBytes: 64_000, intervalMs: 5 } } });
  const file = get(fixtures, '/same.deb');
  const [a, b] = await Promise.all([downloadToStore(store, item(mirror, file), FAST), downloadToStore(store, item(mirror, file), FAST)]);
  assert.equal(a.path, b.path);
  assert.equal(a.cached || b.cached, false);
  assert.deepEqual(await readFile(a.path), file.data);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('abort mid-download leaves no blob and no temporary', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/slow.deb': 64_000 }, { '/slow.deb': { trickle: { chunkBytes: 1_000, intervalMs: 20 } } });
  const file = get(fixtures, '/slow.deb');
  const controller = new AbortController();
  const emit = (e: KilnEvent) => {
    if (e.kind === 'download-progress' && e.done > 0) controller.abort();
  };
  await assert.rejects(downloadToStore(store, item(mirror, file), { ...FAST, emit, signal: controller.signal }), { name: 'AbortError' });
  assert.equal(await store.has(file.sha256), false);
  assert.deepEqual(await listDir(store.tempDir), []);
  assert.equal(await store.sweepTemporaries(0), 0);
});

test('downloadAll stops the others on the first hard failure', async (t) => {
  const slow = { trickle: { chunkBytes: 1_000, intervalMs: 50 } };
  const { mirror, store, fixtures } = await setup(t, { '/s1.deb': 100_000, '/s2.deb': 100_000, '/s3.deb': 100_000 }, { '/s1.deb': slow, '/s2.deb': slow, '/s3.deb': slow });
  const items = [...Object.values(fixtures).map((f) => item(mirror, f)), { urls: [`${mirror.url}/gone.deb`], name: 'gone.deb' }];
  const started = Date.now();
  await assert.rejects(downloadAll(store, items, { ...FAST, concurrency: 8 }), /not found on the mirror: .*\/gone\.deb/);
  assert.ok(Date.now() - started < 2_000, 'did not wait for the slow downloads');
  assert.deepEqual(await listDir(store.tempDir), []);
  assert.equal(await store.has(get(fixtures, '/s1.deb').sha256), false);
});

test('a stalled answer times out', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/stall.deb': 10_000 }, { '/stall.deb': { trickle: { chunkBytes: 100, intervalMs: 1_000 } } });
  await assert.rejects(
    downloadToStore(store, item(mirror, get(fixtures, '/stall.deb')), { ...FAST, idleTimeoutMs: 100, attempts: 2 }),
    /^UserError: lost the connection to mirror http:\/\/127\.0\.0\.1:\d+ during .*: timed out/,
  );
  // each try got a little further, so each counts only against the cap of 3 × attempts
  assert.equal(mirror.requests.length, 6);
  assert.deepEqual(mirror.log.slice(1).map((r) => r.range), ['bytes=100-', 'bytes=200-', 'bytes=300-', 'bytes=400-', 'bytes=500-']);
});

test('a mirror that never answers times out after the configured attempts', async (t) => {
  const { mirror, store } = await setup(t, {}, { '/hang.deb': { hang: true } });
  await assert.rejects(
    downloadToStore(store, { urls: [`${mirror.url}/hang.deb`], name: 'hang.deb' }, { ...FAST, idleTimeoutMs: 100, attempts: 2 }),
    /^UserError: cannot reach mirror http:\/\/127\.0\.0\.1:\d+: timed out \(nothing received for 0\.1 s\)$/,
  );
  assert.equal(mirror.requests.length, 2);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('aborting downloadAll from outside stops every download and cleans up', async (t) => {
  const slow = { trickle: { chunkBytes: 1_000, intervalMs: 20 } };
  const { mirror, store, fixtures } = await setup(t, { '/a.deb': 50_000, '/b.deb': 50_000 }, { '/a.deb': slow, '/b.deb': slow });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(downloadAll(store, Object.values(fixtures).map((f) => item(mirror, f)), { ...FAST, signal: controller.signal }), { name: 'AbortError' });
  assert.deepEqual(await listDir(store.tempDir), []);
  assert.deepEqual(await listDir(store.blobDir), []);
});

test('an unwritable cache is a UserError', async (t) => {
  const dir = await testDir(t);
  await writeFile(join(dir, 'file'), '');
  const { mirror, fixtures } = await setup(t, { '/a.deb': 10 });
  const store = new BlobStore(join(dir, 'file', 'cache'));
  await assert.rejects(downloadToStore(store, item(mirror, get(fixtures, '/a.deb')), FAST), /^UserError: cannot write to the download cache .*: a path component is not a directory$/);
});

test('fetchBytes returns small files, and missingOk turns a 404 into undefined', async (t) => {
  const { mirror, fixtures } = await setup(t, { '/dists/InRelease': 3_000 }, { '/dists/Flaky': { failFirst: 1 } });
  const body = await fetchBytes(`${mirror.url}/dists/InRelease`, FAST);
  assert.deepEqual(body, get(fixtures, '/dists/InRelease').data);
  assert.equal(await fetchBytes(`${mirror.url}/dists/Release.gpg`, { ...FAST, missingOk: true }), undefined);
  await assert.rejects(fetchBytes(`${mirror.url}/dists/Release.gpg`, FAST), /not found on the mirror/);
  await assert.rejects(fetchBytes(`${mirror.url}/dists/InRelease`, { ...FAST, maxBytes: 100 }), /larger than 100 bytes/);
  await assert.rejects(fetchBytes('ftp://127.0.0.1/x', FAST), /must be http or https/);
});

test('an unknown hash is computed and the blob stored under it', async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/Packages.xz': 5_000 });
  const file = get(fixtures, '/Packages.xz');
  const result = await downloadToStore(store, { urls: [mirror.url + file.path], name: 'Packages.xz' }, FAST);
  assert.equal(result.sha256, file.sha256);
  assert.equal(result.path, join(store.blobDir, file.sha256.slice(0, 2), file.sha256));
});

test('a file that changes in place is downloaded again only when the mirror says it changed', async (t) => {
  const root = await testDir(t);
  await writeFile(join(root, 'core.db'), 'version one');
  const mirror = await startMirror(root);
  t.after(() => mirror.close());
  const url = `${mirror.url}/core.db`;
  const first = await fetchIfChanged(url, undefined);
  assert.equal(first.status, 'fetched');
  assert.ok(first.status === 'fetched' && first.validators.lastModified, 'the answer carries Last-Modified');
  const validators = first.status === 'fetched' ? first.validators : {};
  assert.deepEqual(await fetchIfChanged(url, validators), { status: 'unchanged' });
  await writeFile(join(root, 'core.db'), 'version two');
  const { utimes } = await import('node:fs/promises');
  await utimes(join(root, 'core.db'), new Date(), new Date(Date.now() + 5000));
  const third = await fetchIfChanged(url, validators);
  assert.equal(third.status === 'fetched' && third.data.toString(), 'version two');
  assert.deepEqual(await fetchIfChanged(`${mirror.url}/nope.db`, validators, { missingOk: true }), { status: 'missing' });
});

test('a mirror slower than the minimum rate is given up at once, naming the file and the mirror; the next mirror is tried', { timeout: 30_000 }, async (t) => {
  const root = await testDir(t, 'kiln-mirror-');
  const file = await randomFile(root, '/pool/slow.deb', 5_000);
  const slow = await startMirror(root, { faults: { '/pool/slow.deb': { trickle: { chunkBytes: 1, intervalMs: 2_000 } } } });
  const good = await startMirror(root);
  t.after(() => Promise.all([slow.close(), good.close()]));
  const store = new BlobStore(await testDir(t, 'kiln-cache-'));
  const limits: HttpOptions = { ...FAST, minBytesPerSecond: 100, rateWindowMs: 500 };
  const one = { urls: [slow.url + file.path], sha256: file.sha256, size: file.data.length, name: 'slow' };
  await assert.rejects(
    downloadToStore(store, one, limits),
    (err: unknown) =>
      err instanceof UserError &&
      err.message === `mirror ${slow.url} is too slow for slow: slower than 100 B/s for 0.5 s (${slow.url}/pool/slow.deb)` &&
      /build\.download-min-rate/.test(err.hint ?? ''),
  );
  assert.equal(slow.requests.length, 1, 'a mirror too slow is not asked again');
  assert.deepEqual(await listDir(store.tempDir), []);
  const warnings: string[] = [];
  const emit = (e: KilnEvent) => void (e.kind === 'log' && warnings.push(e.message));
  const got = await downloadToStore(store, { ...one, urls: [slow.url + file.path, good.url + file.path] }, { ...limits, emit });
  assert.equal(got.url, good.url + file.path);
  assert.match(warnings.join('\n'), /is too slow for slow: .*; trying the next mirror/);
});

test('a slow mirror above the minimum rate still succeeds', { timeout: 30_000 }, async (t) => {
  const { mirror, store, fixtures } = await setup(t, { '/steady.deb': 8_000 }, { '/steady.deb': { trickle: { chunkBytes: 400, intervalMs: 50 } } });
  const got = await downloadToStore(store, item(mirror, get(fixtures, '/steady.deb')), { ...FAST, minBytesPerSecond: 1_000, rateWindowMs: 300 });
  assert.equal(got.sha256, get(fixtures, '/steady.deb').sha256);
});

test('a download is bounded in time as a whole, retries included', { timeout: 30_000 }, async (t) => {
  // Each answer breaks off after 100 bytes: every try makes progress, so without a bound it would go on for 300 tries.
  const { mirror, store, fixtures } = await setup(t, { '/drip.deb': 100_000 }, { '/drip.deb': { truncateAfter: 100, truncateTimes: Infinity } });
  const file = get(fixtures, '/drip.deb');
  await assert.rejects(
    downloadToStore(store, item(mirror, file), { retryDelayMs: 100, attempts: 100, timeoutMs: 1_000 }),
    (err: unknown) => err instanceof UserError && err.message === `download of drip.deb from mirror ${mirror.url} took longer than 1 s in all (${mirror.url}/drip.deb)`,
  );
  assert.ok(mirror.requests.length > 1 && mirror.requests.length < 300, `${mirror.requests.length} requests`);
  assert.deepEqual(await listDir(store.tempDir), []);
});

test('an index is bounded the same way: a trickling one fails on the rate, a stalled one on the idle timer', { timeout: 30_000 }, async (t) => {
  const { mirror } = await setup(t, { '/dists/InRelease': 5_000, '/dists/Stalled': 5_000 }, {
    '/dists/InRelease': { trickle: { chunkBytes: 1, intervalMs: 1_000 } },
    '/dists/Stalled': { stallAfter: 10 },
  });
  await assert.rejects(
    fetchBytes(`${mirror.url}/dists/InRelease`, { ...FAST, name: 'InRelease', minBytesPerSecond: 100, rateWindowMs: 300 }),
    /^UserError: mirror http:\/\/127\.0\.0\.1:\d+ is too slow for InRelease: slower than 100 B\/s for 0\.3 s/,
  );
  await assert.rejects(
    fetchBytes(`${mirror.url}/dists/Stalled`, { ...FAST, idleTimeoutMs: 200, attempts: 2 }),
    /^UserError: lost the connection to mirror http:\/\/127\.0\.0\.1:\d+ during .*\/dists\/Stalled: timed out \(nothing received for 0\.2 s\)$/,
  );
});
