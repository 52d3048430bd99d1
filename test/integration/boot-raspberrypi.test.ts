/**
 * The Raspberry Pi SD-card images of Debian bookworm, built as the
 * unprivileged test user and checked with other tools (sfdisk, mtools)
 * since QEMU cannot boot them: raspberrypi-4 (arm64) and raspberrypi-2
 * (armhf), each an MBR whose first partition is a bootable FAT32 holding
 * what the board's firmware reads. Most of each build is update-initramfs,
 * now run once (initramfs-tools' trigger; the kernel hook's create is
 * deferred to it, src/formats/deb/deferred.ts) with its programs as native
 * twins: raspberrypi-4 is in every run, raspberrypi-2 (armhf, a second such
 * build) behind KILN_TEST_SLOW_BOOT=1; their times are in the output.
 * The board without the component of its firmware package is refused in
 * one line before anything is downloaded (in every run).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { fatListing, fatRead, sfdiskJson } from './disk-checks.ts';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const baseSkip = integrationSkipReason() ?? (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror');
const slow = process.env.KILN_TEST_SLOW_BOOT === '1';
const piSkip = (what: string, always: boolean) => (slow || always ? skipOrFail(baseSkip ?? (has('mcopy') && has('sfdisk') ? undefined : 'mtools or fdisk missing: install mtools, fdisk')) : `${what}: set KILN_TEST_SLOW_BOOT=1`);

const toml = (board: string, extra = 'repositories = ["main", "non-free-firmware"]\n') => `[distribution]
name = "debian"
release = "bookworm"
${extra}
[board]
name = "${board}"

[packages]
base = "minimal"

[system]
root-password = "kiln-boot-test"

[output]
format = ["disk"]
`;

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^kiln: error/.test(l));
const listed = (listing: string, name: string) => new RegExp(`^::/${name.replace(/\./g, '\\.')}$`, 'm').test(listing);

interface PiBoard {
  board: string;
  architecture: string;
  /** The kernel's Debian flavour, as in its version (6.1.0-N-arm64). */
  flavour: string;
  /** The GPU firmware this generation starts, and the files the boot ROM loads besides. */
  firmware: string[];
  dtb: string;
  arm64: boolean;
  /** Built in every run, not only with KILN_TEST_SLOW_BOOT=1. */
  always: boolean;
}

const PI_BOARDS: PiBoard[] = [
  { board: 'raspberrypi-4', architecture: 'arm64', flavour: 'arm64', firmware: ['start4.elf', 'fixup4.dat'], dtb: 'bcm2711-rpi-4-b.dtb', arm64: true, always: true },
  { board: 'raspberrypi-2', architecture: 'armhf', flavour: 'armmp', firmware: ['bootcode.bin', 'start.elf', 'fixup.dat'], dtb: 'bcm2836-rpi-2-b.dtb', arm64: false, always: false },
];

for (const pi of PI_BOARDS) {
  describe(`${pi.board}: Debian bookworm ${pi.architecture} SD-card image, structure (QEMU cannot boot it)`, { skip: piSkip(`${pi.board} ${pi.architecture} build, a second Raspberry Pi build`, pi.always) }, () => {
    const dir = imageDir(toml(pi.board));
    let buildTime = '';
    before(async () => {
      const started = Date.now();
      const r = await kiln(['build', '-C', dir], { timeoutMs: 2_400_000 });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stderr + r.stdout, new RegExp(`\\[boot\\] raspberrypi: \\S+-${pi.flavour}; options root=UUID=\\S+ rw console=serial0,115200; \\d+ files in /boot/firmware`));
      buildTime = seconds(started);
    });

    test(`MBR with a bootable FAT32 partition holding config.txt, cmdline.txt with the root partition, the kernel, its initramfs, ${pi.firmware.join(', ')} and ${pi.dtb}`, (t) => {
      t.diagnostic(`build: ${buildTime}`);
      const disk = join(dir, 'out/image.raw');
      const table = sfdiskJson(disk);
      assert.equal(table.label, 'dos');
      const [boot, root] = table.partitions;
      assert.equal(boot!.bootable, true);
      assert.equal(boot!.type, 'c');
      assert.notEqual(root!.bootable, true);
      const offset = boot!.start * 512;
      const listing = fatListing(disk, offset);
      for (const name of ['config.txt', 'cmdline.txt', ...pi.firmware, pi.dtb]) assert.ok(listed(listing, name), `${name} is not in the FAT partition:\n${listing}`);
      const config = fatRead(disk, offset, '::/config.txt');
      if (pi.arm64) assert.match(config, /^arm_64bit=1$/m);
      else assert.doesNotMatch(config, /^arm_64bit=1$/m);
      const kernel = /^kernel=(\S+)$/m.exec(config)?.[1];
      const initrd = /^initramfs (\S+)/m.exec(config)?.[1];
      assert.ok(kernel && initrd, config);
      assert.match(kernel, new RegExp(`-${pi.flavour}$`));
      assert.ok(listed(listing, kernel), `${kernel} (config.txt's kernel=) is not in the FAT partition`);
      assert.ok(listed(listing, initrd), `${initrd} (config.txt's initramfs) is not in the FAT partition`);
      const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { outputs: { details?: { partitions?: { filesystem: string; filesystemUuid?: string }[] } }[] };
      const rootRecord = manifest.outputs.find((o) => o.details?.partitions)!.details!.partitions!.find((p) => p.filesystem === 'ext4')!;
      const cmdline = fatRead(disk, offset, '::/cmdline.txt');
      assert.equal(cmdline.split('\n').filter(Boolean).length, 1, cmdline);
      const rootSpec = /(?:^|\s)root=(\S+)/.exec(cmdline)?.[1];
      // The root partition as blkid sees it (another tool than kiln), by filesystem UUID or by PARTUUID (MBR: disk id - partition number).
      const partuuid = `${table.id.replace(/^0x/, '')}-02`;
      const blkid = spawnSync('blkid', ['--probe', '--offset', String(root!.start * 512), '--output', 'value', '--match-tag', 'UUID', disk], { encoding: 'utf8' });
      assert.equal(blkid.stdout.trim(), rootRecord.filesystemUuid, `blkid: ${blkid.stderr}`);
      assert.ok(rootSpec === `UUID=${rootRecord.filesystemUuid}` || rootSpec === `PARTUUID=${partuuid}`, `${cmdline} names ${rootSpec}, not the root partition`);
      assert.match(cmdline, /console=serial0,115200/);
      assert.match(cmdline, /rootwait/);
    });
  });
}

describe('raspberrypi-4 without the non-free-firmware component', { skip: skipOrFail(baseSkip) }, () => {
  test('one line naming the package and the board, exit 2, before any package is downloaded', async () => {
    const dir = imageDir(toml('raspberrypi-4', ''));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.deepEqual(errorLines(r.stderr), ['kiln: error: unknown package "raspi-firmware" (asked for by packages.install, board raspberrypi-4)']);
    assert.doesNotMatch(r.stdout + r.stderr, /^fetch /m);
  });
});
