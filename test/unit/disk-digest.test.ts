import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQemuImgMap, sparseSha256 } from '../../src/disk/index.ts';
import { fileDigest } from '../../src/outputs/manifest.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

function sparseFile(): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-digest-'));
  const file = join(dir, 'disk.raw');
  const fd = openSync(file, 'w');
  ftruncateSync(fd, 64 * 1024 * 1024 + 123);
  writeSync(fd, Buffer.from('at the start'), 0, 12, 0);
  writeSync(fd, Buffer.alloc(3 * 1024 * 1024 + 7, 0xa5), 0, 3 * 1024 * 1024 + 7, 20 * 1024 * 1024 + 5);
  writeSync(fd, Buffer.from('at the end'), 0, 10, 64 * 1024 * 1024 + 113);
  closeSync(fd);
  return { file, dir };
}

test('the sha256 of a sparse file from its data extents equals the sha256 of all its bytes', () => {
  const { file, dir } = sparseFile();
  try {
    const whole = createHash('sha256').update(readFileSync(file)).digest('hex');
    const size = statSync(file).size;
    const extents = [{ start: 0, length: 4096 }, { start: 20 * 1024 * 1024, length: 3 * 1024 * 1024 + 8192 }, { start: 64 * 1024 * 1024, length: 123 }];
    return sparseSha256(file, size, extents).then((digest) => assert.equal(digest, whole));
  } finally {
    setTimeout(() => rmSync(dir, { recursive: true, force: true }), 1000).unref();
  }
});

test('fileDigest of a sparse file (through qemu-img map) and of its bytes agree; qemu-img map output parses to data extents', { skip: skipOrFail(missingTools(['qemu-img'])) }, async () => {
  const { file, dir } = sparseFile();
  try {
    const whole = createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.equal((await fileDigest(file)).sha256, whole);
    assert.deepEqual(parseQemuImgMap('[{"start": 0, "length": 4096, "data": true, "zero": false}, {"start": 4096, "length": 4096, "data": false, "zero": true}]'), [{ start: 0, length: 4096 }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
