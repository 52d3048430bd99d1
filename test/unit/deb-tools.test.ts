/**
 * Tools taken from a Debian archive into kiln's tools cache (the QEMU
 * emulators) are checked on every use: a damaged copy is taken out of the
 * package again.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchDebianTool } from '../../src/tools/index.ts';
import { fetchRelease } from '../../src/formats/deb/archive.ts';
import { BlobStore } from '../../src/repo/index.ts';
import type { KilnEvent } from '../../src/util/events.ts';
import { makeFakeArchive } from '../helpers/fake-debian.ts';
import { startMirror } from '../helpers/mirror-server.ts';

test('a tool whose bytes changed in the tools cache is taken out of its package again, with a warning', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kiln-tools-'));
  t.after(() => chmodSync(work, 0o755));
  const archive = await makeFakeArchive(work, { packageArch: 'amd64' });
  const mirror = await startMirror(archive.root);
  t.after(() => mirror.close());
  const events: KilnEvent[] = [];
  const access = { store: new BlobStore(join(work, 'cache/downloads')), emit: (e: KilnEvent) => events.push(e), keyring: [archive.keyring], warnings: [] };
  const request = { mirror: mirror.url, release: archive.suite, architecture: 'amd64', package: 'tiny', paths: ['usr/share/doc/tiny/README'], toolsDir: join(work, 'cache/tools') };

  const [tool] = await fetchDebianTool(access, request);
  assert.equal(readFileSync(tool as string, 'utf8'), 'tiny for kiln tests\n');
  const requests = mirror.requests.length;
  const again = await fetchDebianTool(access, request);
  assert.deepEqual(again, [tool]);
  assert.equal(mirror.requests.length, requests, 'an intact copy is used without asking the archive (builds work offline)');
  assert.equal(events.filter((e) => e.kind === 'log' && e.level === 'warn').length, 0, 'a good copy is used as it is');

  writeFileSync(tool as string, 'replaced\n');
  const [repaired] = await fetchDebianTool(access, request);
  assert.ok(mirror.requests.length > requests, 'a changed copy sends kiln back to the archive');
  assert.equal(repaired, tool);
  assert.equal(readFileSync(repaired as string, 'utf8'), 'tiny for kiln tests\n');
  const warnings = events.filter((e) => e.kind === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] as string, /the tools no longer match their recorded sha256; taking them out of tiny 1\.0 again/);
});

test('one build fetches and verifies an InRelease once: the plan, the twins and the tools share it by the build\'s signal; another build fetches it again', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kiln-release-'));
  t.after(() => chmodSync(work, 0o755));
  const archive = await makeFakeArchive(work, { packageArch: 'amd64' });
  const mirror = await startMirror(archive.root);
  t.after(() => mirror.close());
  const access = (signal: AbortSignal) => ({ store: new BlobStore(join(work, 'cache/downloads')), emit: () => {}, signal, keyring: [archive.keyring], warnings: [] });
  const build = new AbortController().signal;
  const [a, b] = await Promise.all([fetchRelease(access(build), mirror.url, archive.suite), fetchRelease(access(build), mirror.url, archive.suite)]);
  assert.deepEqual(a, b);
  await fetchRelease(access(build), mirror.url, archive.suite);
  const inRelease = () => mirror.requests.filter((r) => r.endsWith('/InRelease')).length;
  assert.equal(inRelease(), 1);
  await fetchRelease(access(new AbortController().signal), mirror.url, archive.suite);
  assert.equal(inRelease(), 2);
  // A keyring that does not verify it is refused every time, never served from the first build's answer.
  const other = { ...access(build), keyring: [join(work, 'no-such-keyring.asc')] };
  await assert.rejects(fetchRelease(other, mirror.url, archive.suite));
});
