/**
 * Arch Linux family disks from the fixture repositories (test/helpers/
 * fake-arch.ts, served on 127.0.0.1): an x86_64 GPT disk with an ESP and an
 * ext4 root, and the raspberrypi-4 board's own layout on Arch Linux ARM: an
 * MBR with a bootable FAT32 (0x0c) firmware partition holding /boot and an
 * ext4 (0x83) root, as the Pi's boot ROM needs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import type { Manifest } from '../../src/outputs/index.ts';
import { debugfsStat, sfdiskJson, tool } from './disk-checks.ts';

const skip = skipOrFail(
  integrationSkipReason() ??
    fakeArchSkipReason(['x86_64', 'aarch64']) ??
    missingTools(['e2fsck', 'debugfs', 'fsck.vfat', 'mcopy', 'blkid']) ??
    (['sgdisk', 'sfdisk'].find((t) => tool('sh', ['-c', `command -v ${t}`], { ok: false }).code !== 0) ? 'sgdisk or sfdisk missing: install gdisk, fdisk' : undefined),
);

describe('Arch Linux family disks from a local signed repository', { skip }, () => {
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let alarmMirror: Mirror;
  let keyring: string;
  before(async () => {
    repos = await makeFakeArchRepos(mkdtempSync(join(tmpdir(), 'kiln-disk-arch-')), { architectures: ['x86_64', 'aarch64'] });
    mirror = await startMirror(repos.root);
    alarmMirror = await startMirror(repos.alarmRoot as string);
    keyring = readableKeyring(repos, 'disk-arch');
  });
  after(async () => {
    await mirror?.close();
    await alarmMirror?.close();
  });

  const toml = (name: string, arch: string, mirrorUrl: string, rest: string) =>
    `[distribution]\nname = "${name}"\narchitecture = "${arch}"\nmirror = "${mirrorUrl}"\nkeyring = ["${keyring}"]\n\n${rest}\n`;

  test('Arch Linux x86_64 GPT disk: sgdisk -v clean, e2fsck and fsck.vfat clean, the root holds the tree', async () => {
    const dir = imageDir(
      toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`, '[[partition]]\ntype = "esp"\nsize = "64M"\n\n[[partition]]\ntype = "root"\n\n[output]\nformat = ["disk", "partitions"]\n'),
    );
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(dir, 'out');
    assert.match(tool('sgdisk', ['-v', join(out, 'image.raw')]).out, /No problems found/);
    assert.deepEqual(sfdiskJson(join(out, 'image.raw')).partitions.map((p) => p.type), ['C12A7328-F81F-11D2-BA4B-00A0C93EC93B', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709']);
    tool('e2fsck', ['-fn', join(out, 'image.partitions/2-root.ext4')]);
    tool('fsck.vfat', ['-n', join(out, 'image.partitions/1-esp.vfat')]);
    const root = join(out, 'image.partitions/2-root.ext4');
    assert.ok(tool('debugfs', ['-R', 'ls /var/lib/pacman/local', root]).out.includes('ALPM_DB_VERSION'));
    assert.deepEqual(debugfsStat(root, '/etc/fstab'), { mode: 0o644, uid: 0, gid: 0 });
    assert.match(tool('debugfs', ['-R', 'cat /etc/fstab', root]).out, /^UUID=\S+\s+\/efi\s+vfat\s+umask=0077\s+0\s+1$/m);
  });

  test('raspberrypi-4 on Arch Linux ARM: the board layout is an MBR with a bootable 0x0c FAT32 /boot and a 0x83 ext4 root', async () => {
    const dir = imageDir(
      toml(
        'archlinuxarm',
        'aarch64',
        `${alarmMirror.url}/$arch/$repo`,
        // The fixture has no kernel or firmware packages: the board's are left out, its layout is kept.
        '[board]\nname = "raspberrypi-4"\n\n[packages]\ninstall = { remove = ["linux-rpi", "raspberrypi-bootloader"] }\n\n[output]\nformat = ["disk", "partitions"]\n',
      ),
    );
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(dir, 'out');
    const table = sfdiskJson(join(out, 'image.raw'));
    assert.equal(table.label, 'dos');
    assert.deepEqual(
      table.partitions.map((p) => [p.type, p.bootable ?? false]),
      [
        ['c', true],
        ['83', false],
      ],
    );
    assert.equal(table.partitions[0]!.size * 512, 256 * 1024 ** 2);
    assert.match(tool('fdisk', ['-l', join(out, 'image.raw')]).out, /W95 FAT32 \(LBA\)/);
    tool('fsck.vfat', ['-n', join(out, 'image.partitions/1-0x0c.vfat')]);
    tool('e2fsck', ['-fn', join(out, 'image.partitions/2-root.ext4')]);
    assert.match(tool('blkid', ['-p', join(out, 'image.partitions/1-0x0c.vfat')]).out, /VERSION="FAT32"/);
    // The manifest names the MBR signature; PARTUUIDs are SIGNATURE-NN, as the kernel's root=PARTUUID= wants them.
    const manifest = JSON.parse(readFileSync(join(out, 'image.manifest.json'), 'utf8')) as Manifest;
    const details = manifest.outputs.find((o) => o.format === 'disk')?.details as { diskSignature: string; partitions: { partUuid: string; mbrType: string }[] };
    assert.equal(`0x${details.diskSignature}`, table.id);
    assert.deepEqual(details.partitions.map((p) => [p.partUuid, p.mbrType]), [
      [`${details.diskSignature}-01`, '0x0c'],
      [`${details.diskSignature}-02`, '0x83'],
    ]);
  });
});
