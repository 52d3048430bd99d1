import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeCompressedFile } from '../../src/outputs/compressed-file.ts';

test('a compressed file gets what its producer wrote', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-compressed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await writeCompressedFile(join(dir, 'a.gz'), 'gz', async (out) => {
    out.write('hello ');
    out.end('world');
  });
  assert.equal(gunzipSync(readFileSync(join(dir, 'a.gz'))).toString(), 'hello world');
});

/** The compressors this process still runs. */
const compressors = () =>
  execFileSync('ps', ['--ppid', String(process.pid), '-o', 'comm='])
    .toString()
    .split('\n')
    .filter((c) => c === 'gzip' || c === 'zstd');

test('a producer that fails midway fails the write with its own error, and stops the compressor rather than leaving it waiting for the rest', { timeout: 20_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-compressed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const compression of ['gz', 'zst', 'none'] as const) {
    await assert.rejects(
      writeCompressedFile(join(dir, `b.${compression}`), compression, async (out) => {
        out.write('part of a tar');
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error('the tree walk failed');
      }),
      /the tree walk failed/,
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(compressors(), []);
});
