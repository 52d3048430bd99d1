/**
 * The apk format's reading and checking on small files assembled in the
 * test (apk-builder.ts): gzip stream boundaries, index and package
 * signatures (SHA1 and SHA256), the C: checksum, the datahash, and each
 * refusal as one line that names the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readApkIndex } from '../../src/formats/apk/apkindex.ts';
import { readApkPackage } from '../../src/formats/apk/package.ts';
import { splitGzipStreams } from '../../src/formats/apk/streams.ts';
import { keysFromPlan } from '../../src/formats/apk/trust.ts';
import { UserError } from '../../src/util/errors.ts';
import { makeIndex, makeKey, makePackage, q1 } from './apk-builder.ts';

const key = makeKey();
const stranger = makeKey('someone-else-1234.rsa.pub');
/** The stranger's key under our key's name: signatures by it are bad signatures, not unknown ones. */
const impostor = { ...stranger, name: key.name };
const trusted = keysFromPlan([{ name: key.name, pem: key.pem }]);
const hello = { name: 'hello', version: '1.0-r0', files: [{ path: 'usr', type: 'dir' as const }, { path: 'usr/bin', type: 'dir' as const }, { path: 'usr/bin/hello', mode: 0o755, content: '#!/bin/sh\necho hello\n' }] };
const planned = (p: { name: string; version: string }) => ({ name: p.name, version: p.version, architecture: 'x86_64' });
const refused = (pattern: RegExp) => (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n');

test('the streams of a package: signature, control and data, each with its exact bytes', () => {
  const pkg = makePackage(hello, key);
  const streams = splitGzipStreams(pkg.file);
  assert.equal(streams.length, 3);
  assert.equal(Buffer.concat(streams.map((s) => s.raw)).equals(pkg.file), true);
  assert.equal(q1((streams[1] as { raw: Buffer }).raw), pkg.checksum);
  assert.throws(() => splitGzipStreams(Buffer.concat([pkg.file, Buffer.from('junk')])), /no gzip stream at byte/);
  const damaged = Buffer.from(gzipSync(Buffer.from('x'.repeat(100))));
  damaged.writeUInt8((damaged.at(-6) as number) ^ 0xff, damaged.length - 6); // in the CRC
  assert.throws(() => splitGzipStreams(damaged), /fails its CRC/);
});

test('a signed index is read; unsigned, unknown-key and badly signed ones are refused naming the file', async () => {
  const pkg = makePackage({ ...hello, depends: 'so:libc.musl-x86_64.so.1', provides: 'cmd:hello=1.0-r0' }, key);
  const index = await readApkIndex(makeIndex([pkg], key), 'http://127.0.0.1/x/APKINDEX.tar.gz', 'main', trusted);
  assert.equal(index.signedBy, key.name);
  assert.equal(index.description, 'kiln test repository');
  assert.deepEqual(index.packages.map((p) => [p.name, p.version, p.checksum, p.depends, p.provides]), [['hello', '1.0-r0', pkg.checksum, ['so:libc.musl-x86_64.so.1'], ['cmd:hello=1.0-r0']]]);
  const url = 'http://127.0.0.1/x/APKINDEX.tar.gz';
  await assert.rejects(readApkIndex(makeIndex([pkg], undefined), url, 'main', trusted), refused(/^http:\/\/127\.0\.0\.1\/x\/APKINDEX\.tar\.gz is not signed$/));
  await assert.rejects(readApkIndex(makeIndex([pkg], stranger), url, 'main', trusted), refused(/APKINDEX\.tar\.gz is signed by an unknown key \(someone-else-1234\.rsa\.pub\)/));
  await assert.rejects(readApkIndex(makeIndex([pkg], impostor), url, 'main', trusted), refused(/APKINDEX\.tar\.gz: bad signature by kiln-test-5f00\.rsa\.pub/));
  // With checks off, an unsigned index is read.
  assert.equal((await readApkIndex(makeIndex([pkg], undefined), url, 'main', undefined)).packages.length, 1);
});

test('a good package passes; SHA256 signatures too', async () => {
  for (const algorithm of ['RSA', 'RSA256'] as const) {
    const pkg = makePackage({ ...hello, algorithm, scripts: { 'post-install': '#!/bin/sh\ntrue\n' } }, key);
    const read = await readApkPackage(pkg.file, planned(hello), 'hello-1.0-r0.apk', { keys: trusted, checksum: pkg.checksum });
    assert.equal(read.checksum, pkg.checksum);
    assert.equal(read.pkginfo.get('pkgname')?.[0], 'hello');
    assert.equal(read.scripts['post-install']?.toString(), '#!/bin/sh\ntrue\n');
  }
});

test('tampered packages are refused with one line naming the file', async () => {
  const label = 'http://127.0.0.1/v3.21/main/x86_64/hello-1.0-r0.apk';
  const good = makePackage(hello, key);
  const opts = { keys: trusted, checksum: good.checksum };
  await assert.rejects(readApkPackage(makePackage({ ...hello, unsigned: true }, key).file, planned(hello), label, opts), refused(/hello-1\.0-r0\.apk is not signed$/));
  const byStranger = makePackage(hello, stranger);
  await assert.rejects(readApkPackage(byStranger.file, planned(hello), label, { keys: trusted, checksum: byStranger.checksum }), refused(/hello-1\.0-r0\.apk is signed by an unknown key/));
  const badSig = makePackage(hello, impostor);
  await assert.rejects(readApkPackage(badSig.file, planned(hello), label, { keys: trusted, checksum: badSig.checksum }), refused(/hello-1\.0-r0\.apk: bad signature by kiln-test-5f00\.rsa\.pub/));
  const lying = makePackage({ ...hello, wrongDatahash: true }, key);
  await assert.rejects(readApkPackage(lying.file, planned(hello), label, { keys: trusted, checksum: lying.checksum }), refused(/hello-1\.0-r0\.apk: data does not match its datahash/));
  // Another package than the index lists: its control stream's checksum is not the index's C:.
  const other = makePackage({ ...hello, files: [{ path: 'evil', content: 'x' }] }, key);
  await assert.rejects(readApkPackage(other.file, planned(hello), label, opts), refused(/hello-1\.0-r0\.apk: checksum Q1\S+ is not the index's Q1/));
  // One byte flipped in the data stream.
  const flipped = Buffer.from(good.file);
  flipped.writeUInt8((flipped.at(-30) as number) ^ 0x01, flipped.length - 30);
  await assert.rejects(readApkPackage(flipped, planned(hello), label, opts), refused(/hello-1\.0-r0\.apk: (not an apk package|data does not match)/));
  // A package that names itself otherwise than the index.
  const renamed = makePackage({ ...hello, name: 'hullo' }, key);
  await assert.rejects(readApkPackage(renamed.file, planned(hello), label, { keys: trusted, checksum: renamed.checksum }), refused(/pkgname is "hello" in the signed index, but the package says "hullo"/));
});
