/**
 * kiln's MBR judged by util-linux: sfdisk --json and fdisk -l read back the
 * dos label, disk signature, boot flags, type bytes and sectors of many
 * generated layouts, and sfdisk, given the same layout as a script, writes
 * the same 72 bytes (so the CHS fields are what sfdisk writes too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planLayout, writeDiskImage, type DiskLayout } from '../../src/disk/index.ts';
import { chsBytes } from '../../src/disk/mbr.ts';
import { diskToolsMissing, randomRequest, readRange, tool } from '../helpers/disk-layouts.ts';

const LAYOUTS = 25;
const SECTOR = 512;

test('CHS fields follow a 255-head, 63-sector geometry and saturate at cylinder 1023', () => {
  assert.deepEqual(chsBytes(2048), [0x20, 0x21, 0x00]);
  assert.deepEqual(chsBytes(6143), [0x61, 0x21, 0x00]);
  assert.deepEqual(chsBytes(1024 * 255 * 63), [0xfe, 0xff, 0xff]);
  assert.deepEqual(chsBytes(1023 * 255 * 63), [0x00, 0xc1, 0xff]);
});

function checkWithTools(img: string, layout: DiskLayout, what: string): void {
  const json = JSON.parse(tool('sfdisk', ['--json', img])).partitiontable;
  assert.equal(json.label, 'dos', what);
  assert.equal(json.id, `0x${layout.diskSignature.toString(16).padStart(8, '0')}`, what);
  assert.equal(json.partitions.length, layout.partitions.length, what);
  layout.partitions.forEach((p, i) => {
    const got = json.partitions[i];
    assert.equal(got.node, `${img}${p.number}`, what);
    assert.equal(got.start, p.offset / SECTOR, `${what}: partition ${p.number} start`);
    assert.equal(got.size, p.size / SECTOR, `${what}: partition ${p.number} size`);
    assert.equal(got.type, p.mbrType!.toString(16), `${what}: partition ${p.number} type`);
    assert.equal(got.bootable, p.spec.bootable ? true : undefined, `${what}: partition ${p.number} boot flag`);
  });
  const fdisk = tool('fdisk', ['-l', img]);
  assert.match(fdisk, /^Disklabel type: dos$/m, what);
  assert.match(fdisk, new RegExp(`^Disk identifier: 0x${layout.diskSignature.toString(16).padStart(8, '0')}$`, 'm'), what);
  for (const p of layout.partitions) {
    const row = new RegExp(`^${img}${p.number}\\s+(\\*\\s+)?(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+\\S+\\s+([0-9a-f]+)\\s`, 'm').exec(fdisk);
    assert.ok(row, `${what}: fdisk -l lists partition ${p.number}:\n${fdisk}`);
    assert.equal(Boolean(row[1]), Boolean(p.spec.bootable), `${what}: partition ${p.number} boot flag in fdisk -l`);
    assert.deepEqual(row.slice(2, 5).map(Number), [p.offset / SECTOR, (p.offset + p.size) / SECTOR - 1, p.size / SECTOR], what);
    assert.equal(Number.parseInt(row[5]!, 16), p.mbrType, what);
  }
  // The PARTUUIDs kiln reports are the ones blkid derives: signature-number.
  layout.partitions.forEach((p) => assert.equal(p.partUuid, `${json.id.slice(2)}-${String(p.number).padStart(2, '0')}`, what));
}

test(`${LAYOUTS} generated MBR layouts read back in sfdisk and fdisk, and match sfdisk's own bytes`, { skip: diskToolsMissing(['sfdisk', 'fdisk']) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-mbr-'));
  let bootable = 0;
  try {
    for (let seed = 100; seed < 100 + LAYOUTS; seed++) {
      const layout = planLayout(randomRequest(seed, 'mbr'));
      const what = `MBR layout seed ${seed} (${layout.partitions.length} partitions, ${layout.size} bytes)`;
      const img = join(dir, 'disk.img');
      await writeDiskImage(img, layout, [], []);
      checkWithTools(img, layout, what);
      const theirs = join(dir, 'sfdisk.img');
      writeFileSync(theirs, '');
      truncateSync(theirs, layout.size);
      tool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', theirs], tool('sfdisk', ['--dump', img]));
      assert.equal(readRange(img, 0, SECTOR).toString('hex'), readRange(theirs, 0, SECTOR).toString('hex'), `${what}: sector 0 differs from sfdisk's`);
      bootable += layout.partitions.filter((p) => p.spec.bootable).length;
      rmSync(img);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(bootable >= 5, `bootable partitions seen: ${bootable}`);
});

test('a GPT-only type, a GUID type or GPT attributes on an MBR are refused by name', () => {
  const req = (spec: object) => ({ table: 'mbr' as const, diskSize: 'auto' as const, alignment: 1 << 20, machine: 'aarch64', seed: 's', blobs: [], partitions: [{ spec: { type: 'esp', ...spec }, needed: 0, headroom: 0, describe: 'partition 1 (boot, vfat)' }] });
  assert.throws(() => planLayout(req({ type: 'bios-boot' })), { name: 'UserError', message: /^partition 1 \(boot, vfat\) has the type bios-boot, which exists only on GPT disks$/ });
  assert.throws(() => planLayout(req({ type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b' })), { name: 'UserError', message: /GPT type GUID .* but the disk has an MBR/ });
  assert.throws(() => planLayout(req({ attributes: ['legacy-bios-bootable'] })), { name: 'UserError', message: /sets attributes \(legacy-bios-bootable\), which only GPT has/ });
  const five = { ...req({}), partitions: Array.from({ length: 5 }, (_, i) => ({ spec: { type: 'root' }, needed: 0, headroom: 0, describe: `partition ${i + 1}` })) };
  assert.throws(() => planLayout(five), { name: 'UserError', message: /5 partitions, but an MBR holds at most 4/ });
  assert.throws(() => planLayout({ ...req({}), diskSize: 3 * 1024 ** 4 }), { name: 'UserError', message: /an MBR addresses at most 2 TiB/ });
});
