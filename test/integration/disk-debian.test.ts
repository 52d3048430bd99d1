/**
 * Debian bookworm as partitioned disks (GPT: an ESP with vfat, an ext4
 * root), built as the unprivileged test user from the host's mirror, and
 * checked with other people's tools: sgdisk -v, sfdisk --json, e2fsck,
 * fsck.vfat, debugfs, blkid, qemu-img. Then the same disk from another image
 * directory, every stage run again, must be the same bytes; and a partition
 * too small for its content is refused before anything is written.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import type { Manifest } from '../../src/outputs/index.ts';
import { debugfsStat, firstDifference, sfdiskJson, sha256, tool } from './disk-checks.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(
  integrationSkipReason() ??
    (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
    missingTools(['e2fsck', 'debugfs', 'fsck.vfat', 'mcopy', 'blkid']) ??
    (['sgdisk', 'sfdisk', 'qemu-img'].find((t) => tool('sh', ['-c', `command -v ${t}`], { ok: false }).code !== 0) ? 'sgdisk, sfdisk or qemu-img missing: install gdisk, fdisk, qemu-utils' : undefined),
);

const toml = (arch: string, formats: string[], partitions = '') => `[distribution]
name = "debian"
release = "bookworm"
architecture = "${arch}"

[packages]
base = "minimal"
install = ["iputils-ping"]

[[partition]]
type = "esp"
size = "64M"
filesystem = "vfat"
contents = "/efi"

[[partition]]
type = "root"
filesystem = "ext4"
${partitions || 'size = "auto"\ngrow = true'}

[output]
format = ${JSON.stringify(formats)}
`;

interface DiskDetails {
  table: string;
  diskGuid?: string;
  partitions: { number: number; typeGuid?: string; partUuid: string; offset: number; size: number; filesystem: string; filesystemUuid?: string; image?: string; sha256?: string }[];
}

/** The Discoverable Partitions root types. */
const ROOT_TYPE = { amd64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', arm64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE' };

/** The disk's checks that need no second build. */
function checkDisk(dir: string, arch: keyof typeof ROOT_TYPE): void {
  const out = join(dir, 'out');
  const raw = join(out, 'image.raw');
  const verify = tool('sgdisk', ['-v', raw]).out;
  assert.match(verify, /No problems found/, verify);
  const table = sfdiskJson(raw);
  assert.equal(table.label, 'gpt');
  assert.deepEqual(table.partitions.map((p) => p.type), ['C12A7328-F81F-11D2-BA4B-00A0C93EC93B', ROOT_TYPE[arch]]);
  // The manifest's partitions are what sfdisk reads from the disk; each partition's bytes on the disk are its image.
  const manifest = JSON.parse(readFileSync(join(out, 'image.manifest.json'), 'utf8')) as Manifest;
  const disk = manifest.outputs.find((o) => o.format === 'disk')?.details as unknown as DiskDetails;
  assert.equal(disk.diskGuid?.toUpperCase(), table.id);
  assert.deepEqual(
    disk.partitions.map((p) => [p.offset, p.size, p.typeGuid?.toUpperCase(), p.partUuid.toUpperCase()]),
    table.partitions.map((p) => [p.start * 512, p.size * 512, p.type, p.uuid]),
  );
  const images = join(out, 'image.partitions');
  for (const p of disk.partitions) {
    const image = join(images, p.image!);
    assert.equal(sha256(image), p.sha256, `${p.image}: sha256 as the manifest says`);
    const fromDisk = tool('sh', ['-c', `dd if="$0" bs=1M skip=${p.offset / 2 ** 20} count=${p.size / 2 ** 20} status=none | sha256sum`, raw]).out.split(' ')[0];
    const padded = tool('sh', ['-c', `{ cat "$0"; head -c ${p.size - statSync(image).size} /dev/zero; } | sha256sum`, image]).out.split(' ')[0];
    assert.equal(fromDisk, padded, `partition ${p.number} on the disk is its image`);
  }
  const root = join(images, '2-root.ext4');
  const esp = join(images, '1-esp.vfat');
  tool('e2fsck', ['-fn', root]);
  tool('fsck.vfat', ['-n', esp]);
  // Owners, modes and capabilities as the namespace's root made them.
  assert.deepEqual(debugfsStat(root, '/etc/shadow'), { mode: 0o640, uid: 0, gid: 42 });
  assert.equal(debugfsStat(root, '/usr/bin/passwd').mode & 0o7777, 0o4755);
  assert.equal(debugfsStat(root, '/usr/bin/passwd').uid, 0);
  assert.match(tool('debugfs', ['-R', 'ea_list /usr/bin/ping', root]).out, /security\.capability/);
  // The ESP's content is not in the root; its mount point is, empty.
  assert.match(tool('debugfs', ['-R', 'ls -l /efi', root]).out, /^\s+\d+\s+40755 \(2\)\s+0\s+0\s+\d+\s.* \.\.?\s*$/m);
  // /etc/fstab names the filesystems blkid finds.
  const fstab = tool('debugfs', ['-R', 'cat /etc/fstab', root]).out;
  const blkid = (image: string) => /UUID="([^"]+)"/.exec(tool('blkid', ['-p', image]).out)![1];
  assert.match(fstab, new RegExp(`^UUID=${blkid(root)}\\s+/\\s+ext4\\s+defaults\\s+0\\s+1$`, 'm'));
  assert.match(fstab, new RegExp(`^UUID=${blkid(esp)}\\s+/efi\\s+vfat\\s+umask=0077\\s+0\\s+1$`, 'm'));
  assert.equal(disk.partitions[1]!.filesystemUuid, blkid(root));
}

describe('Debian bookworm partitioned disks', { skip }, () => {
  let first: string;
  before(async () => {
    first = imageDir(toml('amd64', ['disk', 'qcow2', 'partitions', 'disk.zst', 'vagrant-libvirt']));
    const r = await kiln(['build', '-C', first], { timeoutMs: 900_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[disk\] GPT disk of .*disk GUID/);
  });

  test('amd64 GPT disk: sgdisk, sfdisk, e2fsck, fsck.vfat, debugfs and blkid agree with it and with its manifest; qcow2 is the same disk', () => {
    checkDisk(first, 'amd64');
    const out = join(first, 'out');
    tool('qemu-img', ['check', join(out, 'image.qcow2')]);
    assert.match(tool('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', join(out, 'image.raw'), join(out, 'image.qcow2')]).out, /Images are identical/);
    assert.equal(tool('sh', ['-c', 'zstd -dc "$0" | sha256sum', join(out, 'image.raw.zst')]).out.split(' ')[0], sha256(join(out, 'image.raw')), 'disk.zst holds the disk');
  });

  test('amd64 vagrant-libvirt box: GNU tar reads metadata.json, the Vagrantfile and the qcow2 as box.img, owned by root, with the disk size in GiB', () => {
    const box = join(first, 'out', 'image.libvirt.box');
    const listing = tool('tar', ['-tvzf', box, '--numeric-owner']).out.trim().split('\n');
    assert.deepEqual(listing.map((l) => l.split(/\s+/).at(-1)), ['metadata.json', 'Vagrantfile', 'box.img']);
    for (const line of listing) assert.match(line, /^-rw-r--r-- 0\/0 /);
    const member = (name: string) => tool('tar', ['-xzOf', box, name]).out;
    const metadata = JSON.parse(member('metadata.json')) as Record<string, unknown>;
    assert.deepEqual(metadata, { provider: 'libvirt', format: 'qcow2', virtual_size: Math.ceil(statSync(join(first, 'out', 'image.raw')).size / 1024 ** 3) });
    assert.match(member('Vagrantfile'), /config\.vm\.provider :libvirt do \|libvirt\|\n\s+libvirt\.driver = "kvm"/);
    assert.equal(tool('sh', ['-c', 'tar -xzOf "$0" box.img | sha256sum', box]).out.split(' ')[0], sha256(join(first, 'out', 'image.qcow2')));
  });

  test('amd64: another image directory, every stage run again, gives the same disk, qcow2, box and partition images', async () => {
    const second = imageDir(toml('amd64', ['disk', 'qcow2', 'partitions', 'disk.zst', 'disk.xz', 'vagrant-libvirt']));
    const r = await kiln(['build', '-C', second, '--rebuild'], { timeoutMs: 900_000 });
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = [join(first, 'out'), join(second, 'out')];
    const differences: string[] = [];
    for (const name of readdirSync(join(a, 'image.partitions')).sort()) {
      if (sha256(join(a, 'image.partitions', name)) === sha256(join(b, 'image.partitions', name))) continue;
      const fs = name.split('.').at(-1)!;
      differences.push(`partitions/${name}: ${name.endsWith('.json') ? 'layout differs' : firstDifference(join(a, 'image.partitions', name), join(b, 'image.partitions', name), fs)}`);
    }
    assert.equal(tool('sh', ['-c', 'xz -dc "$0" | sha256sum', join(b, 'image.raw.xz')]).out.split(' ')[0], sha256(join(b, 'image.raw')), 'disk.xz holds the disk');
    for (const file of ['image.raw', 'image.qcow2', 'image.raw.zst', 'image.libvirt.box']) if (sha256(join(a, file)) !== sha256(join(b, file))) differences.push(`${file} differs`);
    assert.deepEqual(differences, []);
  });

  test('amd64: a tar of the same build has /etc/fstab and the /efi mount point, the same bytes whether written before or after the partitions', async () => {
    const sums: string[] = [];
    for (const formats of [['tar', 'partitions'], ['partitions', 'tar']]) {
      const dir = imageDir(toml('amd64', formats));
      const r = await kiln(['build', '-C', dir], { timeoutMs: 900_000 });
      assert.equal(r.code, 0, r.stderr);
      sums.push(sha256(join(dir, 'out/image.tar')));
      const listing = tool('tar', ['-tvf', join(dir, 'out/image.tar'), './etc/fstab', './efi/']).out;
      assert.match(listing, /^-rw-r--r-- 0\/0 .* \.\/etc\/fstab$/m);
      assert.match(listing, /^drwxr-xr-x 0\/0 .* \.\/efi\/$/m);
    }
    assert.equal(sums[0], sums[1]);
  });

  test('amd64: a fixed size too small for its content is one line, exit 2, and nothing in out/', async () => {
    const dir = imageDir(toml('amd64', ['disk', 'tar'], 'size = "16M"'));
    const r = await kiln(['build', '-C', dir], { timeoutMs: 900_000 });
    assert.equal(r.code, 2, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => /^(kiln: )?error/i.test(l));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, /partition 2 \(root, ext4\) needs at least \d+(\.\d)? MiB for its content but its size is 16 MiB/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.deepEqual(existsSync(join(dir, 'out')) ? readdirSync(join(dir, 'out')) : [], []);
  });

  test('arm64 (emulated) GPT disk: the same checks', async () => {
    const dir = imageDir(toml('arm64', ['disk', 'partitions']));
    const r = await kiln(['build', '-C', dir], { timeoutMs: 1_800_000 });
    assert.equal(r.code, 0, r.stderr);
    checkDisk(dir, 'arm64');
  });
});
