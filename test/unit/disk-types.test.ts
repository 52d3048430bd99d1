/** Partition types by name and per machine, attribute bits, seed-derived identifiers, and the plan in lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  attributeBits,
  describeType,
  diskGuid,
  filesystemUuid,
  layoutLines,
  mbrSignature,
  mbrType,
  partitionGuid,
  planLayout,
  seededId32,
  seededUuid,
  typeGuid,
  typeInWords,
  PARTITION_TYPE_NAMES,
  type LayoutRequest,
} from '../../src/disk/index.ts';
import { diskToolsMissing, tool } from '../helpers/disk-layouts.ts';

const MiB = 1024 * 1024;

test('root and usr are the Discoverable Partitions types of the target machine', () => {
  const cases: [string, string, string][] = [
    ['x86_64', '4f68bce3-e8cd-4db1-96e7-fbcaf984b709', '8484680c-9521-48c6-9c11-b0720656f69e'],
    ['i686', '44479540-f297-41b2-9af7-d131d5f0458a', '75250d76-8cc6-458e-bd66-bd47cc81a812'],
    ['aarch64', 'b921b045-1df0-41c3-af44-4c6f280d3fae', 'b0e01050-ee5f-4390-949a-9101b17104e9'],
    ['arm', '69dad710-2ce4-4e3c-b16c-21a1d49abed3', '7d0359a3-02b3-4f0a-865c-654403e70625'],
    ['riscv64', '72ec70a6-cf74-40e6-bd49-4bda08e8f224', 'beaec34b-8442-439b-a40b-984381ed097d'],
    ['loongarch64', '77055800-792c-4f94-b39a-98c91b762bb6', 'e611c702-575c-4cbe-9a46-434fa0bf7e3f'],
    ['ppc64le', 'c31c45e6-3f39-412e-80fb-4809c4980599', '15bb03af-77e7-4d4a-b12b-c0d084f7491c'],
    ['s390x', '5eead9a9-fe09-4a1e-a1d7-520d00531306', '8a4f5770-50aa-4ed3-874a-99b710db6fea'],
  ];
  for (const [machine, root, usr] of cases) {
    assert.equal(typeGuid('root', machine), root, machine);
    assert.equal(typeGuid('usr', machine), usr, machine);
  }
  assert.deepEqual(
    [describeType('root', 'gpt', 'x86_64'), describeType('usr', 'gpt', 'aarch64'), describeType('esp', 'gpt', 'arm'), describeType('0x0C', 'mbr', 'arm'), describeType('B921B045-1DF0-41C3-AF44-4C6F280D3FAE', 'gpt', 'x86_64'), describeType('root', 'gpt', 'vax')],
    ['root (x86-64)', 'usr (arm64)', 'esp', '0x0c', 'root (arm64)', 'root'],
  );
  assert.throws(() => typeGuid('root', 'vax', 'partition 2 (root, ext4)'), { name: 'UserError', message: 'partition 2 (root, ext4): the Discoverable Partitions Specification has no root type for the machine vax' });
});

test('every type name has a GPT GUID, and an MBR byte except bios-boot', () => {
  for (const name of PARTITION_TYPE_NAMES) assert.match(typeGuid(name, 'x86_64'), /^[0-9a-f-]{36}$/, name);
  assert.deepEqual(
    PARTITION_TYPE_NAMES.filter((n) => n !== 'bios-boot').map((n) => [n, mbrType(n)]),
    [['esp', 0xef], ['xbootldr', 0xea], ['root', 0x83], ['usr', 0x83], ['home', 0x83], ['srv', 0x83], ['var', 0x83], ['tmp', 0x83], ['swap', 0x82], ['linux-generic', 0x83]],
  );
  assert.equal(typeGuid('esp', 'x86_64'), 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
  assert.equal(typeGuid('E6D6D379-F507-44C2-A23C-238F2A3DF928', 'x86_64'), 'e6d6d379-f507-44c2-a23c-238f2a3df928');
  assert.equal(mbrType('0x0C'), 0x0c);
  assert.throws(() => typeGuid('0x0c', 'x86_64', 'partition 1'), { name: 'UserError', message: 'partition 1 has the MBR type byte 0x0c as its type, but the disk has a GPT' });
  assert.throws(() => mbrType('0x00'), { name: 'UserError' });
  assert.throws(() => mbrType('bios-boot'), { name: 'UserError', message: /exists only on GPT disks/ });
});

test('util-linux names kiln\'s type GUIDs as the types they are meant to be', { skip: diskToolsMissing(['sfdisk']) }, () => {
  const known = new Map(
    tool('sfdisk', ['--label', 'gpt', '--list-types'])
      .split('\n')
      .map((l) => /^([0-9A-F-]{36})\s+(.*)$/.exec(l.trim()))
      .filter((m) => m !== null)
      .map((m) => [m[1]!.toLowerCase(), m[2]!]),
  );
  const expect: [string, string, RegExp][] = [
    ['esp', 'x86_64', /^EFI System$/],
    ['xbootldr', 'x86_64', /^Linux extended boot$/],
    ['bios-boot', 'x86_64', /^BIOS boot$/],
    ['swap', 'x86_64', /^Linux swap$/],
    ['home', 'x86_64', /^Linux home$/],
    ['srv', 'x86_64', /^Linux server data$/],
    ['var', 'x86_64', /^Linux variable data$/],
    ['tmp', 'x86_64', /^Linux temporary data$/],
    ['linux-generic', 'x86_64', /^Linux filesystem$/],
    ['root', 'x86_64', /^Linux root \(x86-64\)$/],
    ['usr', 'aarch64', /^Linux \/usr \(ARM-64\)$/],
    ['root', 'arm', /^Linux root \(ARM\)$/],
    ['root', 'riscv64', /^Linux root \(RISC-V-64\)$/],
    ['usr', 'ppc64le', /^Linux \/usr \(PPC64LE\)$/],
    ['root', 's390x', /^Linux root \(S390X\)$/],
    ['root', 'loongarch64', /^Linux root \(LoongArch-64\)$/],
  ];
  for (const [name, machine, words] of expect) assert.match(known.get(typeGuid(name, machine)) ?? '(unknown)', words, `${name} on ${machine}`);
});

test('attribute names are GPT\'s bits', () => {
  assert.equal(attributeBits(['required', 'no-block-io', 'legacy-bios-bootable']), 7n);
  assert.equal(attributeBits(['grow-fs', 'read-only', 'no-auto']), (1n << 59n) | (1n << 60n) | (1n << 63n));
  assert.equal(attributeBits(), 0n);
});

test('seeded identifiers are stable across calls and distinct per purpose and seed', () => {
  const seed = 'image debian bookworm arm64';
  assert.equal(seededUuid(seed, 'disk'), seededUuid(seed, 'disk'));
  const ids = [diskGuid(seed), partitionGuid(seed, 1), partitionGuid(seed, 2), filesystemUuid(seed, 1), filesystemUuid(seed, 2), filesystemUuid(seed, 0), diskGuid('other'), partitionGuid('other', 1)];
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(mbrSignature(seed), mbrSignature(seed));
  assert.notEqual(mbrSignature(seed), mbrSignature('other'));
  assert.notEqual(seededId32(seed, 'vfat 1'), seededId32(seed, 'vfat 2'));
});

test('the plan in lines: type in words, label, offset, size and PARTUUID of each partition, and the blobs', () => {
  const req: LayoutRequest = {
    table: 'gpt',
    diskSize: 'auto',
    alignment: MiB,
    machine: 'x86_64',
    seed: 'lines',
    blobs: [{ name: 'boot.img', offset: 0, size: 440 }],
    partitions: [
      { spec: { type: 'esp', size: 256 * MiB, label: 'ESP' }, needed: 0, headroom: 0, describe: 'partition 1 (esp, vfat)' },
      { spec: { type: 'root' }, needed: 100 * MiB, headroom: 20 * MiB, describe: 'partition 2 (root, ext4)' },
    ],
  };
  const layout = planLayout(req);
  assert.deepEqual(layout.partitions.map(typeInWords), ['esp', 'root (x86-64)']);
  const lines = layoutLines(layout, (p) => (p.number === 2 ? 'ext4' : 'vfat'));
  assert.equal(lines[0], `GPT disk of 378 MiB (396361728 bytes), disk GUID ${layout.diskGuid}`);
  assert.equal(lines[1], `  partition 1: esp, "ESP", vfat, at 1 MiB (1048576 bytes), size 256 MiB (268435456 bytes), PARTUUID ${layout.partitions[0]!.partUuid}`);
  assert.equal(lines[2], `  partition 2: root (x86-64), ext4, at 257 MiB (269484032 bytes), size 120 MiB (125829120 bytes), PARTUUID ${layout.partitions[1]!.partUuid}`);
  assert.equal(lines[3], '  blob boot.img at 0 bytes, 440 bytes');
  const mbr = planLayout({ ...req, table: 'mbr', partitions: [{ spec: { type: '0x0c', size: 64 * MiB, bootable: true }, needed: 0, headroom: 0, describe: 'partition 1 (boot, vfat)' }] });
  assert.equal(typeInWords(mbr.partitions[0]!), '0x0c');
  assert.match(layoutLines(mbr)[1]!, /^ {2}partition 1: 0x0c, at 1 MiB \(1048576 bytes\), size 64 MiB \(67108864 bytes\), bootable, PARTUUID [0-9a-f]{8}-01$/);
});
