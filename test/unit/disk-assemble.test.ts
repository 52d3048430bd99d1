/** writeDiskImage: a sparse file whose bytes at every offset are the table's, the images' and the blobs'; holes stay holes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, writeSync, writeFileSync, statSync, rmSync, ftruncateSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQemuImgMap, planLayout, qemuImgExtents, tablePieces, writeDiskImage, type LayoutRequest } from '../../src/disk/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { diskToolsMissing, readRange, tool, toolPath } from '../helpers/disk-layouts.ts';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function request(more: Partial<LayoutRequest> = {}): LayoutRequest {
  return {
    table: 'gpt',
    diskSize: 1024 * MiB,
    alignment: MiB,
    machine: 'aarch64',
    seed: 'assemble',
    blobs: [],
    partitions: [
      { spec: { type: 'esp', size: 4 * MiB }, needed: MiB, headroom: 0, describe: 'partition 1 (esp, vfat)' },
      { spec: { type: 'root', grow: true }, needed: 64 * MiB, headroom: 0, describe: 'partition 2 (root, ext4)' },
    ],
    ...more,
  };
}

/** A sparse `size`-byte file with random data at `at` offsets (64 KiB each). */
function sparseImage(path: string, size: number, at: number[]): Map<number, Buffer> {
  const fd = openSync(path, 'w');
  const data = new Map<number, Buffer>();
  try {
    ftruncateSync(fd, size);
    for (const offset of at) {
      const b = randomBytes(64 * 1024);
      writeSync(fd, b, 0, b.length, offset);
      data.set(offset, b);
    }
  } finally {
    closeSync(fd);
  }
  return data;
}

test('a 1 GiB disk with small images stays sparse, and every byte is where the plan puts it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-assemble-'));
  try {
    const layout = planLayout(request());
    const [esp, root] = layout.partitions;
    const espImage = join(dir, 'esp.img');
    const espBytes = randomBytes(MiB);
    writeFileSync(espImage, espBytes);
    const rootImage = join(dir, 'root.img');
    // Data straddling a chunk boundary, in the middle and in the last bytes; holes everywhere else.
    const rootData = sparseImage(rootImage, 64 * MiB, [MiB - 4096, 20 * MiB + 12345, 64 * MiB - 64 * 1024]);
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, randomBytes(2 * MiB)); // an old file there is replaced, not patched
    await writeDiskImage(disk, layout, [{ number: 1, image: espImage }, { number: 2, image: rootImage }], []);

    const st = statSync(disk);
    assert.equal(st.size, 1024 * MiB);
    assert.ok(st.blocks * 512 < 8 * MiB, `the disk takes ${st.blocks * 512} bytes on disk for ${st.size} apparent`);
    assert.equal(sha(readRange(disk, esp!.offset, MiB)), sha(espBytes));
    assert.ok(readRange(disk, esp!.offset + MiB, 3 * MiB).every((b) => b === 0), 'the rest of the ESP is zeros');
    const rootOnDisk = readRange(disk, root!.offset, 64 * MiB);
    assert.equal(sha(rootOnDisk), sha(readFileSync(rootImage)));
    for (const [offset, bytes] of rootData) assert.ok(rootOnDisk.subarray(offset, offset + bytes.length).equals(bytes));
    for (const piece of tablePieces(layout)) assert.ok(readRange(disk, piece.at, piece.bytes.length).equals(Buffer.from(piece.bytes)), `table piece at ${piece.at}`);
    assert.ok(readRange(disk, 0, 440).every((b) => b === 0), 'the boot code area is left zero');
    if (!diskToolsMissing(['sgdisk'])) assert.match(tool('sgdisk', ['-v', disk]), /No problems found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('blobs land at their offsets, the boot code area included, and the MBR stays readable', { skip: diskToolsMissing(['sfdisk']) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-assemble-'));
  try {
    const bootImg = join(dir, 'boot.img');
    const spl = join(dir, 'spl.bin');
    const boot = randomBytes(440);
    const splBytes = randomBytes(100 * 1024 + 7);
    writeFileSync(bootImg, boot);
    writeFileSync(spl, splBytes);
    const layout = planLayout(
      request({
        table: 'mbr',
        diskSize: 'auto',
        partitions: [{ spec: { type: 'esp', size: 4 * MiB, bootable: true }, needed: 0, headroom: 0, describe: 'partition 1 (boot, vfat)' }],
        blobs: [
          { name: 'boot.img', offset: 0, size: 440 },
          { name: 'spl.bin', offset: 8192, size: splBytes.length },
        ],
      }),
    );
    const disk = join(dir, 'disk.img');
    await writeDiskImage(disk, layout, [], [
      { file: bootImg, offset: 0 },
      { file: spl, offset: 8192 },
    ]);
    assert.ok(readRange(disk, 0, 440).equals(boot));
    assert.ok(readRange(disk, 8192, splBytes.length).equals(splBytes));
    assert.deepEqual(readRange(disk, 510, 2), Buffer.from([0x55, 0xaa]));
    const json = JSON.parse(tool('sfdisk', ['--json', disk])).partitiontable;
    assert.equal(json.partitions[0].bootable, true);
    assert.equal(json.partitions[0].type, 'ef');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an image larger than its partition is refused before anything is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-assemble-'));
  try {
    const layout = planLayout(request());
    const big = join(dir, 'big.img');
    sparseImage(big, 5 * MiB, [0]);
    const disk = join(dir, 'disk.img');
    await assert.rejects(writeDiskImage(disk, layout, [{ number: 1, image: big }], []), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^the image for partition 1 \(.*big\.img\) is 5 MiB, larger than the partition's 4 MiB$/);
      return true;
    });
    assert.throws(() => statSync(disk), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('qemu-img map output gives the data extents, merged, without the zero ones', () => {
  const json = JSON.stringify([
    { start: 0, length: 4096, depth: 0, present: true, zero: false, data: true, offset: 0 },
    { start: 4096, length: 8192, depth: 0, present: true, zero: false, data: true, offset: 4096 },
    { start: 12288, length: 1 << 20, depth: 0, present: true, zero: true, data: false, offset: 12288 },
    { start: 1060864, length: 4096, depth: 0, present: true, zero: true, data: true, offset: 1060864 },
    { start: 1064960, length: 512, depth: 0, present: true, zero: false, data: true, offset: 1064960 },
  ]);
  assert.deepEqual(parseQemuImgMap(json), [
    { start: 0, length: 12288 },
    { start: 1064960, length: 512 },
  ]);
});

test('with an extent finder only the data extents are read, and qemu-img\'s gives the same disk as reading everything', { skip: diskToolsMissing(['qemu-img']) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-assemble-'));
  try {
    const layout = planLayout(request());
    const rootImage = join(dir, 'root.img');
    const data = sparseImage(rootImage, 64 * MiB, [0, 3 * MiB + 512, 40 * MiB]);
    const plain = join(dir, 'plain.img');
    const mapped = join(dir, 'mapped.img');
    await writeDiskImage(plain, layout, [{ number: 2, image: rootImage }], []);
    await writeDiskImage(mapped, layout, [{ number: 2, image: rootImage }], [], { extents: qemuImgExtents(toolPath('qemu-img')!) });
    const root = layout.partitions[1]!;
    assert.equal(sha(readRange(mapped, root.offset, 64 * MiB)), sha(readRange(plain, root.offset, 64 * MiB)));
    assert.equal(sha(readRange(mapped, 0, 2 * MiB)), sha(readRange(plain, 0, 2 * MiB)));
    // A finder that names only the first extent: the rest of the image is not read, so it is not in the disk.
    const partial = join(dir, 'partial.img');
    await writeDiskImage(partial, layout, [{ number: 2, image: rootImage }], [], { extents: async () => [{ start: 0, length: 64 * 1024 }] });
    const onDisk = readRange(partial, root.offset, 64 * MiB);
    assert.ok(onDisk.subarray(0, 64 * 1024).equals(data.get(0)!));
    assert.ok(onDisk.subarray(64 * 1024).every((b) => b === 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
