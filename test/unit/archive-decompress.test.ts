import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { compress, compressionFromName, decompress, type Compression } from '../../src/archive/index.ts';
import { CommandError } from '../../src/util/errors.ts';
import { collect, run } from '../fixtures/archive-helpers.ts';

const CLI: Record<Exclude<Compression, 'none'>, string> = { xz: 'xz', zst: 'zstd', gz: 'gzip' };
// Compressible but not trivial: random words.
const words = Array.from({ length: 512 }, () => randomBytes(6).toString('hex'));
const PLAIN = Buffer.from(Array.from({ length: 300_000 }, (_, i) => words[(i * 7919) % words.length]).join(' '));

test('compressionFromName', () => {
  assert.equal(compressionFromName('data.tar.xz'), 'xz');
  assert.equal(compressionFromName('core.db.tar.zst'), 'zst');
  assert.equal(compressionFromName('APKINDEX.tar.gz'), 'gz');
  assert.equal(compressionFromName('data.tar'), 'none');
  assert.equal(compressionFromName('x.bz2'), 'none');
});

for (const kind of ['xz', 'zst', 'gz'] as const) {
  test(`${kind}: compress is read by the real tool, decompress reads it back`, async () => {
    const packed = await collect(Readable.from([PLAIN]).pipe(compress(kind)));
    assert.ok(packed.length < PLAIN.length / 2, `${kind} output ${packed.length} bytes`);
    assert.ok(run(CLI[kind], ['-dc'], { input: packed }).equals(PLAIN));
    assert.ok((await collect(decompress(packed, kind))).equals(PLAIN));
    // From a stream of small chunks too.
    const chunks = Array.from({ length: Math.ceil(packed.length / 1000) }, (_, i) => packed.subarray(i * 1000, (i + 1) * 1000));
    assert.ok((await collect(decompress(Readable.from(chunks), kind))).equals(PLAIN));
  });

  test(`${kind}: corrupt and truncated input are stream errors with the tool's message`, async () => {
    await assert.rejects(collect(decompress(Buffer.from('this is not compressed data at all'), kind)), (err: unknown) => {
      assert.ok(err instanceof CommandError, String(err));
      assert.match(err.command, new RegExp(`^${CLI[kind]} -dc`));
      assert.ok(err.tail.length > 0, 'keeps stderr');
      assert.ok(err.message.includes(err.tail[err.tail.length - 1] as string));
      return true;
    });
    const packed = run(CLI[kind], ['-c'], { input: PLAIN });
    await assert.rejects(collect(decompress(packed.subarray(0, packed.length >> 1), kind)), CommandError);
  });
}

test('gzip output is reproducible (no name, no time stamp)', async () => {
  const a = await collect(Readable.from([PLAIN]).pipe(compress('gz', 9)));
  await new Promise((r) => setTimeout(r, 1100));
  const b = await collect(Readable.from([PLAIN]).pipe(compress('gz', 9)));
  assert.ok(a.equals(b));
});

test('compress works inside stream.pipeline with a level', async () => {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([PLAIN]), compress('zst', 19), async function* (source) {
    for await (const c of source) parts.push(c as Buffer);
  });
  assert.ok(run('zstd', ['-dc'], { input: Buffer.concat(parts) }).equals(PLAIN));
});

test('none passes data through', async () => {
  assert.ok((await collect(decompress(PLAIN, 'none'))).equals(PLAIN));
  const r = Readable.from([PLAIN]);
  assert.equal(decompress(r, 'none'), r);
});

test('an input stream error destroys the output', async () => {
  const bad = new Readable({
    read() {
      this.destroy(new Error('disk on fire'));
    },
  });
  await assert.rejects(collect(decompress(bad, 'xz')), /disk on fire/);
});

test('giving up early on the output stops the tool (no hang)', async () => {
  const big = run('zstd', ['-c', '-1'], { input: Buffer.alloc(64 << 20) });
  const out = decompress(big, 'zst');
  for await (const chunk of out) {
    assert.ok(chunk.length > 0);
    break;
  }
  assert.ok(out.destroyed);
});

test('a missing tool is a clear error naming the package', async () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(collect(decompress(PLAIN, 'xz')), (err: Error & { hint?: string }) => {
      assert.match(err.message, /xz is not installed/);
      assert.match(err.hint ?? '', /xz-utils/);
      return true;
    });
  } finally {
    process.env.PATH = path;
  }
});
