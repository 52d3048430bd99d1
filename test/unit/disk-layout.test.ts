/** planLayout's rules: sizes (auto, headroom, minimum, maximum, grow by weight), offsets, the disk's size, blobs, and its errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, planLayout, type LayoutRequest, type PartitionSpec } from '../../src/disk/index.ts';
import { shareUnits } from '../../src/disk/layout-grow.ts';
import { UserError } from '../../src/util/errors.ts';

const MiB = 1024 * 1024;
const GPT_TAIL = 33 * 512;

interface Part {
  spec: PartitionSpec;
  needed?: number;
  headroom?: number;
}

function request(parts: Part[], more: Partial<LayoutRequest> = {}): LayoutRequest {
  return {
    table: 'gpt',
    diskSize: 'auto',
    alignment: MiB,
    machine: 'x86_64',
    seed: 'test seed',
    blobs: [],
    partitions: parts.map((p, i) => ({ spec: p.spec, needed: p.needed ?? 0, headroom: p.headroom ?? 0, describe: `partition ${i + 1} (${p.spec.type}, ext4)` })),
    ...more,
  };
}

/** The UserError planLayout throws for `req`, to look at its message and hint. */
function refusal(req: LayoutRequest): UserError {
  try {
    planLayout(req);
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  assert.fail('planLayout accepted the request');
}

const sizes = (req: LayoutRequest): number[] => planLayout(req).partitions.map((p) => p.size);
const offsets = (req: LayoutRequest): number[] => planLayout(req).partitions.map((p) => p.offset);

test('auto size: needed plus headroom, at least the minimum, rounded up to the alignment, at most the maximum', () => {
  assert.deepEqual(sizes(request([{ spec: { type: 'root' }, needed: 300 * MiB, headroom: 60 * MiB }])), [360 * MiB]);
  assert.deepEqual(sizes(request([{ spec: { type: 'root' }, needed: 300 * MiB + 1, headroom: 0 }])), [301 * MiB]);
  assert.deepEqual(sizes(request([{ spec: { type: 'root', minimum: 64 * MiB }, needed: MiB, headroom: MiB }])), [64 * MiB]);
  assert.deepEqual(sizes(request([{ spec: { type: 'root', maximum: 50 * MiB }, needed: 10 * MiB, headroom: 100 * MiB }])), [50 * MiB]);
  assert.deepEqual(sizes(request([{ spec: { type: 'root', size: 'auto' } }])), [MiB], 'an empty auto partition takes one alignment unit');
  assert.deepEqual(sizes(request([{ spec: { type: 'root' }, needed: 5000, headroom: 0 }], { alignment: 4096 })), [8192]);
});

test('a partition too small for its content is refused, saying what it needs', () => {
  const small = refusal(request([{ spec: { type: 'esp', size: 64 * MiB } }, { spec: { type: 'root', size: 256 * MiB }, needed: 412 * MiB }]));
  assert.equal(small.message, 'partition 2 (root, ext4) needs at least 412 MiB for its content but its size is 256 MiB');
  assert.match(small.hint!, /raise its size to at least 412 MiB, or use size = "auto"/);
  const capped = refusal(request([{ spec: { type: 'root', maximum: 100 * MiB }, needed: 150.5 * MiB }]));
  assert.equal(capped.message, 'partition 1 (root, ext4) needs at least 150.5 MiB for its content but its maximum is 100 MiB');
  assert.match(capped.hint!, /raise its maximum to at least 151 MiB/);
  assert.match(refusal(request([{ spec: { type: 'root', minimum: 9 * MiB, maximum: 8 * MiB } }])).message, /minimum \(9 MiB\) above its maximum \(8 MiB\)/);
});

test('partitions start at the alignment and follow each other aligned; an explicit offset is exact', () => {
  const req = request([{ spec: { type: 'esp', size: 100 * 1024 } }, { spec: { type: 'root', size: 3 * MiB } }, { spec: { type: 'home', size: MiB, offset: 10 * MiB + 512 } }, { spec: { type: 'srv', size: MiB } }]);
  assert.deepEqual(offsets(req), [MiB, 2 * MiB, 10 * MiB + 512, 12 * MiB]);
  assert.deepEqual(offsets(request([{ spec: { type: 'esp', size: 8192 } }, { spec: { type: 'root', size: 8192 } }], { alignment: 4096 })), [20480, 28672]);
  const back = refusal(request([{ spec: { type: 'esp', size: 4 * MiB } }, { spec: { type: 'root', size: MiB, offset: 2 * MiB } }]));
  assert.equal(back.message, 'partition 2 (root, ext4) starts at 2 MiB (2097152 bytes), before the end of partition 1 (esp, ext4) at 5 MiB (5242880 bytes)');
  assert.match(refusal(request([{ spec: { type: 'esp', size: MiB, offset: 8192 } }])).message, /starts at 8 KiB \(8192 bytes\), inside the GPT \(which ends at 17 KiB \(17408 bytes\)\)/);
  assert.match(refusal(request([{ spec: { type: 'esp', size: MiB, offset: 1000 } }], { table: 'mbr' })).message, /offset is 1000 bytes, not a whole number of 512-byte sectors/);
});

test('auto disk size: the last partition\'s end and the backup GPT, rounded up to the alignment', () => {
  assert.equal(planLayout(request([{ spec: { type: 'root', size: 10 * MiB } }])).size, 12 * MiB);
  assert.equal(planLayout(request([{ spec: { type: 'root', size: 10 * MiB } }], { table: 'mbr' })).size, 11 * MiB);
  assert.equal(planLayout(request([{ spec: { type: 'root', size: 10 * MiB } }], { alignment: 512 })).size, 34 * 512 + 10 * MiB + GPT_TAIL);
});

test('grow: what a fixed disk leaves is shared by weight, in aligned units, never above a maximum', () => {
  const disk = { diskSize: 1024 * MiB };
  // 1024 MiB less the backup GPT, less 259 MiB taken: 764 whole MiB to share.
  const parts = (p2: Partial<PartitionSpec>): Part[] => [{ spec: { type: 'esp', size: 256 * MiB } }, { spec: { type: 'home', grow: true, ...p2 } }, { spec: { type: 'root', grow: true, weight: 3000 } }];
  assert.deepEqual(sizes(request(parts({}), disk)), [256 * MiB, 192 * MiB, 574 * MiB]);
  assert.deepEqual(sizes(request(parts({ maximum: 100 * MiB }), disk)), [256 * MiB, 100 * MiB, 666 * MiB]);
  // 558 MiB taken, 465 MiB to share 1:3000; the rounding remainder goes to the larger fraction.
  const [, fixed, rest] = sizes(request(parts({ size: 300 * MiB, weight: 1 }), disk));
  assert.deepEqual([fixed, rest], [300 * MiB, 466 * MiB], 'a growing partition never shrinks below its own size');
  assert.deepEqual(sizes(request(parts({ weight: 0 }), disk)), [256 * MiB, MiB, 765 * MiB], 'weight 0 does not grow');
  const layout = planLayout(request(parts({}), disk));
  assert.ok(layout.partitions.every((p) => p.offset % MiB === 0));
  assert.ok(layout.partitions.at(-1)!.offset + layout.partitions.at(-1)!.size <= layout.size - GPT_TAIL);
  // A partition grows into the room before the next one with an explicit offset, not past it.
  const before = request([{ spec: { type: 'esp', size: MiB, grow: true } }, { spec: { type: 'root', size: MiB, offset: 64 * MiB } }], disk);
  assert.deepEqual(sizes(before), [63 * MiB, MiB]);
  assert.deepEqual(sizes(request(parts({}))), [256 * MiB, MiB, MiB], 'an auto disk leaves nothing to grow into');
});

test('a fixed disk size too small says the size needed', () => {
  const e = refusal(request([{ spec: { type: 'esp', size: 256 * MiB } }, { spec: { type: 'root' }, needed: 40 * MiB }], { diskSize: 256 * MiB }));
  assert.equal(e.message, 'disk.size is 256 MiB, but the partitions and the GPT need 297.1 MiB (311443968 bytes)');
  assert.equal(e.hint, 'raise disk.size to at least 298 MiB, or set it to "auto"');
  assert.match(refusal(request([{ spec: { type: 'root', size: MiB } }], { diskSize: 3 * MiB + 100 })).message, /disk.size is 3145828 bytes, not a whole number/);
});

test('blobs: the MBR boot code and 8K on an MBR are free; the GPT, partitions, other blobs and the disk end are not', () => {
  const parts: Part[] = [{ spec: { type: 'esp', size: 4 * MiB } }];
  const blob = (name: string, offset: number, size: number) => ({ name, offset, size });
  assert.equal(planLayout(request(parts, { table: 'mbr', blobs: [blob('boot.img', 0, 440)] })).blobs.length, 1);
  assert.equal(planLayout(request(parts, { table: 'gpt', blobs: [blob('boot.img', 0, 440)] })).blobs.length, 1);
  assert.equal(planLayout(request(parts, { table: 'mbr', blobs: [blob('boot.img', 0, 440), blob('u-boot-sunxi-with-spl.bin', 8192, 600 * 1024)] })).blobs.length, 2);
  const gpt = refusal(request(parts, { blobs: [blob('u-boot-sunxi-with-spl.bin', 8192, 600 * 1024)] }));
  assert.equal(gpt.message, 'blob u-boot-sunxi-with-spl.bin (bytes 8192..622591) overlaps the GPT partition entry array (bytes 1024..17407)');
  assert.match(gpt.hint!, /disk.table = "mbr"/);
  assert.match(refusal(request(parts, { table: 'mbr', blobs: [blob('mbr.bin', 0, 512)] })).message, /blob mbr.bin \(bytes 0..511\) overlaps the MBR partition table \(bytes 440..511\)/);
  assert.match(refusal(request(parts, { table: 'mbr', blobs: [blob('big.bin', 8192, MiB)] })).message, /blob big.bin \(bytes 8192..1056767\) overlaps partition 1 \(esp, ext4\) \(bytes 1048576..5242879\)/);
  assert.match(refusal(request(parts, { table: 'mbr', blobs: [blob('a', 8192, 4096), blob('b', 12000, 100)] })).message, /blob b \(bytes 12000..12099\) overlaps blob a \(bytes 8192..12287\)/);
  assert.match(refusal(request(parts, { diskSize: 8 * MiB, blobs: [blob('end', 8 * MiB - 1024, 512)] })).message, /blob end .* overlaps the backup GPT partition entry array/);
  assert.match(refusal(request(parts, { table: 'mbr', diskSize: 8 * MiB, blobs: [blob('far', 8 * MiB, 512)] })).message, /blob far \(bytes 8388608..8389119\) lies beyond the end of the 8388608-byte disk/);
  // An auto disk grows to hold a blob past the partitions, with the backup GPT after it.
  assert.equal(planLayout(request(parts, { blobs: [blob('tail', 20 * MiB, 512)] })).size, 21 * MiB);
});

test('GUIDs and the MBR signature derive from the seed: stable, distinct, and an explicit uuid wins', () => {
  const parts: Part[] = [{ spec: { type: 'esp', size: MiB } }, { spec: { type: 'root', size: MiB } }];
  const a = planLayout(request(parts));
  assert.deepEqual(planLayout(request(parts)), a);
  const b = planLayout(request(parts, { seed: 'another seed' }));
  const ids = [a.diskGuid, ...a.partitions.map((p) => p.uuid), b.diskGuid, ...b.partitions.map((p) => p.uuid)];
  assert.equal(new Set(ids).size, 6, ids.join(' '));
  assert.ok(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id!)));
  assert.equal(a.partitions[0]!.partUuid, a.partitions[0]!.uuid);
  const fixed = planLayout(request([{ spec: { type: 'root', size: MiB, uuid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' } }]));
  assert.equal(fixed.partitions[0]!.uuid, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
  const twice = { spec: { type: 'root', size: MiB, uuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' } };
  assert.match(refusal(request([twice, twice])).message, /partition 2 .* has the uuid aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee, which another partition has too/);
  const mbr = planLayout(request(parts, { table: 'mbr' }));
  assert.equal(mbr.diskGuid, undefined);
  assert.equal(mbr.diskSignature, planLayout(request(parts, { table: 'mbr' })).diskSignature);
  assert.notEqual(mbr.diskSignature, planLayout(request(parts, { table: 'mbr', seed: 'another seed' })).diskSignature);
  assert.equal(mbr.partitions[1]!.partUuid, `${mbr.diskSignature.toString(16).padStart(8, '0')}-02`);
});

test('GPT names are at most 36 UTF-16 code units', () => {
  assert.equal(planLayout(request([{ spec: { type: 'root', size: MiB, label: '🚀'.repeat(18) } }])).partitions[0]!.label, '🚀'.repeat(18));
  assert.match(refusal(request([{ spec: { type: 'root', size: MiB, label: '🚀'.repeat(18) + 'x' } }])).message, /a label of 37 UTF-16 code units; GPT allows 36/);
});

test('GPT has at most 128 partitions', () => {
  const many = Array.from({ length: 129 }, () => ({ spec: { type: 'linux-generic', size: 512 } }));
  assert.match(refusal(request(many)).message, /^the layout has 129 partitions, but a GPT holds at most 128$/);
  assert.equal(planLayout(request(many.slice(1), { alignment: 512 })).partitions.length, 128);
});

test('sizes in messages: MiB and GiB with one decimal where needed, never understated', () => {
  assert.deepEqual([412 * MiB, 1.5 * 1024 * MiB, 8192, 440, MiB + 1].map(formatSize), ['412 MiB', '1.5 GiB', '8 KiB', '440 bytes', '1.1 MiB']);
});

test('shareUnits: by weight, a capped grower\'s rest goes to the others, the remainder to the largest fractions', () => {
  assert.deepEqual(shareUnits(10, [{ weight: 1, cap: 2 }, { weight: 1, cap: Infinity }, { weight: 2, cap: Infinity }]), [2, 3, 5]);
  assert.deepEqual(shareUnits(10, [{ weight: 1, cap: 1 }, { weight: 1, cap: 1 }]), [1, 1], 'what no grower may take stays free');
  assert.deepEqual(shareUnits(5, [{ weight: 0, cap: Infinity }, { weight: 1000, cap: Infinity }]), [0, 5]);
  assert.deepEqual(shareUnits(7, [{ weight: 1000, cap: Infinity }, { weight: 1000, cap: Infinity }, { weight: 1000, cap: Infinity }]), [3, 2, 2]);
});
