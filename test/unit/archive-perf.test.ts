import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractTar, readTar, readXattrs, writeTreeAsTar } from '../../src/archive/index.ts';
import { listTree, run, tempDir } from '../fixtures/archive-helpers.ts';

const DIRS = 100;
const FILES = 100;

async function best(times: number, fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

test(`speed: ${DIRS * FILES} small files written, read and extracted`, async (t) => {
  // On tmpfs when there is one: this measures kiln's code, not a busy disk.
  const dir = tempDir(t, 'perf', existsSync('/dev/shm') ? '/dev/shm' : undefined);
  const src = join(dir, 'src');
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(src, `dir${d}`), { recursive: true });
    for (let f = 0; f < FILES; f++) writeFileSync(join(src, `dir${d}/file${f}`), 'x'.repeat(100 + (((d * FILES + f) * 37) % 2000)));
  }
  const tarFile = join(dir, 'tree.tar');
  const xattrMs = await best(2, () => readXattrs(src));
  const writeMs = await best(3, () => writeTreeAsTar(src, createWriteStream(tarFile), { mtimeClamp: 1_600_000_000 }));
  const readMs = await best(3, async () => {
    for await (const { body } of readTar(createReadStream(tarFile))) await body.buffer();
  });
  let n = 0;
  const extractMs = await best(2, async () => {
    const root = join(dir, `x${n++}`);
    mkdirSync(root);
    await extractTar(createReadStream(tarFile), root, { chown: true });
  });
  const gnuMs = await best(2, async () => {
    const root = join(dir, `g${n++}`);
    mkdirSync(root);
    run('tar', ['-xpf', tarFile, '-C', root]);
  });
  assert.deepEqual(listTree(join(dir, 'x0')), listTree(src));
  const rate = (ms: number) => `${Math.round((DIRS * FILES) / (ms / 1000))} files/s`;
  const report = [
    `readXattrs ${xattrMs.toFixed(0)} ms`,
    `writeTreeAsTar ${writeMs.toFixed(0)} ms (${rate(writeMs)})`,
    `readTar ${readMs.toFixed(0)} ms`,
    `extractTar ${extractMs.toFixed(0)} ms (${rate(extractMs)}; GNU tar -xpf ${gnuMs.toFixed(0)} ms)`,
  ];
  for (const line of report) t.diagnostic(line);
  // Generous bounds: the point is "well under a second" on a quiet machine; CI may be busy.
  assert.ok(writeMs < 3000, report[1]);
  assert.ok(extractMs < 6000, report[3]);
});
