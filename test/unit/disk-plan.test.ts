import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, formatConfig, loadConfig } from '../../src/config/index.ts';
import { diskConfig } from '../../src/outputs/partition-plan.ts';
import { checkDisk } from '../../src/outputs/disk-tree.ts';
import { UserError } from '../../src/util/errors.ts';
import { diskPlanLines } from '../../src/cli/dry-run.ts';

const MIRROR = 'http://127.0.0.1:9/debian';
const BASE = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${MIRROR}"\n`;

function imageDirWith(toml: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-disk-plan-'));
  writeFileSync(join(dir, 'kiln.toml'), toml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const load = (toml: string, files?: Record<string, string>) => {
  const dir = imageDirWith(toml, files);
  return { dir, loaded: loadConfig({ dir, env: {} }) };
};

function diskOf(partitions: string, extra = '') {
  const { dir, loaded } = load(`${BASE}${extra}\n${partitions}`);
  return diskConfig(loaded.config, dir);
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${err}`);
    assert.equal(err.exitCode, 2);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    return err.message;
  }
  assert.fail('expected a UserError');
}

test('defaults by type: contents, mount and filesystem', () => {
  const disk = diskOf(['esp', 'xbootldr', 'root', 'usr', 'home', 'srv', 'var', 'tmp', 'swap', 'bios-boot', 'linux-generic'].map((t) => `[[partition]]\ntype = "${t}"\n`).join('\n'));
  const shown = disk.partitions.map((p) => [p.spec.type, p.filesystem, p.contents ?? '-', p.mount ?? '-']);
  assert.deepEqual(shown, [
    ['esp', 'vfat', '/efi', '/efi'],
    ['xbootldr', 'vfat', '/boot', '/boot'],
    ['root', 'ext4', '/', '/'],
    ['usr', 'ext4', '/usr', '/usr'],
    ['home', 'ext4', '/home', '/home'],
    ['srv', 'ext4', '/srv', '/srv'],
    ['var', 'ext4', '/var', '/var'],
    ['tmp', 'ext4', '/tmp', '/tmp'],
    ['swap', 'swap', '-', '-'],
    ['bios-boot', 'none', '-', '-'],
    ['linux-generic', 'ext4', '-', '-'],
  ]);
  assert.deepEqual(disk.partitions.map((p) => p.number), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(disk.partitions[2]!.spec.size, 'auto');
  assert.equal(disk.partitions[2]!.headroom, '20%');
  assert.equal(disk.partitions[2]!.describe, 'partition 3 (root, ext4)');
});

test('what the user gives wins: mount apart from contents, MBR type bytes, a prebuilt image, labels and sizes', () => {
  const { dir, loaded } = load(
    `${BASE}[disk]\ntable = "mbr"\nheadroom = "64M"\n[[partition]]\ntype = "0x0c"\ncontents = "/boot/firmware"\nbootable = true\nsize = "256M"\nlabel = "boot"\n[[partition]]\ntype = "root"\nfilesystem = "erofs"\nheadroom = "0%"\n[[partition]]\ntype = "0x83"\nimage = "data.img"\n[[partition]]\ntype = "linux-generic"\nmount = "/data"\nfilesystem-label = "DATA"\n`,
    { 'data.img': 'x'.repeat(512) },
  );
  const disk = diskConfig(loaded.config, dir);
  const [boot, root, raw, data] = disk.partitions;
  assert.deepEqual([boot!.filesystem, boot!.contents, boot!.mount, boot!.spec.size, boot!.spec.bootable, boot!.filesystemLabel], ['vfat', '/boot/firmware', '/boot/firmware', 256 * 1024 ** 2, true, 'boot']);
  assert.deepEqual([root!.filesystem, root!.contents, root!.headroom], ['erofs', '/', '0%']);
  assert.deepEqual([raw!.filesystem, raw!.contents, raw!.mount, raw!.image], ['none', undefined, undefined, join(dir, 'data.img')]);
  assert.deepEqual([data!.contents, data!.mount, data!.filesystemLabel, data!.headroom], ['/data', '/data', 'DATA', 64 * 1024 ** 2]);
  assert.equal(disk.table, 'mbr');
});

test('each rule the partitions break is one line, exit 2', () => {
  const cases: [string, RegExp, string?][] = [
    ['[[partition]]\ntype = "root"\n[[partition]]\ntype = "linux-generic"\ncontents = "/"\n', /partition 1 \(root, ext4\) and partition 2 \(linux-generic, ext4\) both have contents = \//],
    ['[[partition]]\ntype = "home"\n[[partition]]\ntype = "linux-generic"\ncontents = "/srv"\nmount = "/home"\n', /both have mount = \/home/],
    ['[[partition]]\ntype = "swap"\nfilesystem = "ext4"\n', /a swap partition needs filesystem = "swap"/],
    ['[[partition]]\ntype = "home"\nfilesystem = "swap"\n', /filesystem = "swap" needs type = "swap"/],
    ['[[partition]]\ntype = "esp"\nfilesystem = "ext4"\n', /the EFI system partition is FAT/],
    ['[[partition]]\ntype = "bios-boot"\nfilesystem = "vfat"\n', /BIOS boot partition/],
    ['[[partition]]\ntype = "swap"\ncontents = "/swap"\n', /contents = \/swap needs a filesystem that holds files, not swap/],
    ['[[partition]]\ntype = "root"\n[[partition]]\ntype = "esp"\ncontents = "/boot/efi"\nmount = "/efi"\n', /mounted at \/efi, inside partition 1 \(root, ext4\) \(mounted at \/\), so its contents must be \/efi, not \/boot\/efi/],
    ['[[partition]]\ntype = "xbootldr"\n[[partition]]\ntype = "esp"\ncontents = "/boot/efi"\nmount = "/efi"\n', /its contents \/boot\/efi lie inside partition 1 \(xbootldr, vfat\)'s \/boot, but it is mounted at \/efi/],
    ['[[partition]]\ntype = "0x83"\n', /an MBR type byte on a GPT disk/],
    ['[[partition]]\ntype = "0fc63daf-8483-4772-8e79-3d69d8477de4"\n', /a GPT type GUID on an MBR disk/, '[disk]\ntable = "mbr"\n'],
  ];
  for (const [partitions, expected, extra] of cases) assert.match(refusal(() => diskOf(partitions, extra)), expected, partitions);
});

test('a prebuilt image takes no filesystem or contents; a missing image or blob file is a configuration error with its line', () => {
  const dir = imageDirWith(`${BASE}[[partition]]\ntype = "root"\nimage = "root.img"\nfilesystem = "ext4"\n`, { 'root.img': '' });
  assert.match(refusal(() => diskConfig(loadConfig({ dir, env: {} }).config, dir)), /image = .*root\.img is copied in as it is, so it takes no filesystem/);
  const missing = imageDirWith(`${BASE}[[partition]]\ntype = "root"\n\n[[blob]]\nfile = "u-boot-sunxi-with-spl.bin"\noffset = "8K"\n`);
  assert.throws(() => loadConfig({ dir: missing, env: {} }), (err: unknown) => err instanceof ConfigError && /kiln\.toml:\d+: disk\.blobs: u-boot-sunxi-with-spl\.bin does not exist/.test(err.problems.join('\n')));
});

test('checkDisk: nested mount points that agree pass; a disk output without partitions, or without a filesystem tool, is refused', () => {
  const { dir, loaded } = load(`${BASE}[[partition]]\ntype = "root"\n[[partition]]\ntype = "xbootldr"\nfilesystem = "ext4"\n[[partition]]\ntype = "esp"\ncontents = "/boot/efi"\n`);
  assert.doesNotThrow(() => checkDisk(loaded.config, dir, ['disk']));
  const none = load(BASE);
  assert.doesNotThrow(() => checkDisk(none.loaded.config, none.dir, ['tar']));
  assert.match(refusal(() => checkDisk(none.loaded.config, none.dir, ['qcow2'])), /the disk outputs need partitions: disk\.partitions is empty/);
  const btrfs = load(`${BASE}[[partition]]\ntype = "root"\nfilesystem = "btrfs"\n`);
  assert.match(refusal(() => checkDisk(btrfs.loaded.config, btrfs.dir, ['disk'], (c) => (c === 'mkfs.btrfs' ? undefined : `/usr/bin/${c}`))), /the btrfs partition needs mkfs\.btrfs, which is not installed/);
  assert.doesNotThrow(() => checkDisk(btrfs.loaded.config, btrfs.dir, ['tar'], () => undefined));
});

test("a board brings its layout; the user's list replaces it, add/remove edit it (as kiln config shows)", () => {
  const board = (rest = '', name = 'generic-x86_64') => load(`${BASE}[board]\nname = "${name}"\n${rest}`).loaded;
  const generic = board();
  assert.equal(generic.config['disk.table'], 'gpt');
  assert.deepEqual(generic.config['disk.partitions'], [
    { type: 'esp', filesystem: 'vfat', contents: '/efi', size: 256 * 1024 ** 2 },
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
  ]);
  assert.match(formatConfig(generic), /^partitions = \[\{ type = "esp".*# board generic-x86_64$/m);
  assert.match(formatConfig(generic), /^table = "gpt" +# board generic-x86_64$/m);
  const pi = load(`[distribution]\nname = "debian"\nrelease = "bookworm"\nmirror = "${MIRROR}"\n[board]\nname = "raspberrypi-4"\n`).loaded;
  assert.equal(pi.config['disk.table'], 'mbr');
  assert.deepEqual(pi.config['disk.partitions'][0], { type: '0x0c', filesystem: 'vfat', contents: '/boot/firmware', size: 256 * 1024 ** 2, bootable: true });
  const replaced = board('[disk]\npartitions = [{ type = "root", filesystem = "erofs" }]\n');
  assert.deepEqual(replaced.config['disk.partitions'], [{ type: 'root', filesystem: 'erofs' }]);
  assert.match(formatConfig(replaced), /^partitions = \[\{ type = "root", filesystem = "erofs" \}\] +# \S*kiln\.toml:\d+$/m);
  // A file's [[partition]] tables are its whole layout: they replace the board's (unlike [[hook]] tables, which add up).
  const declared = board('[[partition]]\ntype = "esp"\n\n[[partition]]\ntype = "root"\n');
  assert.deepEqual(declared.config['disk.partitions'], [{ type: 'esp' }, { type: 'root' }]);
  // Two partitions with the same contents are refused with a hint.
  const twice = board('[[partition]]\ntype = "esp"\n\n[[partition]]\ntype = "esp"\n');
  assert.match(refusal(() => diskConfig(twice.config, '/')), /partition 1 \(esp, vfat\) and partition 2 \(esp, vfat\) both have contents = \/efi/);
  // Fields in another order than the board's still name the same partition.
  const edited = board('[disk]\npartitions = { remove = [{ contents = "/efi", filesystem = "vfat", size = "256M", type = "esp" }], add = [{ type = "swap", size = "512M" }] }\n');
  assert.deepEqual(edited.config['disk.partitions'], [
    { type: 'root', filesystem: 'ext4', size: 'auto', grow: true },
    { type: 'swap', size: 512 * 1024 ** 2 },
  ]);
  assert.match(formatConfig(edited), /^partitions = \[\{ type = "root".*# board generic-x86_64 -\S*kiln\.toml:\d+ \+\S*kiln\.toml:\d+$/m);
});

test('--dry-run prints the disk plan: table, size, each partition with its type, filesystem, contents, fixed offsets and sizes, and the blobs', () => {
  const { dir, loaded } = load(
    `${BASE}[disk]\nsize = "4G"\n[[partition]]\ntype = "esp"\nsize = "256M"\noffset = "1M"\n[[partition]]\ntype = "root"\ngrow = true\nminimum = "1G"\n[[blob]]\nfile = "spl.bin"\noffset = "8K"\n`,
    { 'spl.bin': 'spl' },
  );
  assert.deepEqual(diskPlanLines(loaded.config, dir), [
    'disk: gpt, size 4 GiB, alignment 1 MiB, /etc/fstab by uuid',
    '  partition 1: esp, filesystem vfat, contents /efi, at 1 MiB, size 256 MiB',
    '  partition 2: root, filesystem ext4, contents /, size auto (from the content), minimum 1 GiB, grows',
    '  blob spl.bin at 8 KiB',
  ]);
});
