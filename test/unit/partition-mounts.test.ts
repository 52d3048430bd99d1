import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { partitionMountPoints, scriptMountPoints } from '../../src/pipeline/partition-mounts.ts';

const MIRROR = 'http://127.0.0.1:9/debian';
const base = (architecture: string) => `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "${architecture}"\nmirror = "${MIRROR}"\nrepositories = ["main", "non-free-firmware"]\n`;

function configOf(toml: string, architecture = 'amd64') {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-partition-mounts-'));
  writeFileSync(join(dir, 'kiln.toml'), `${base(architecture)}${toml}`);
  return loadConfig({ dir, env: {} }).config;
}
const paths = (toml: string, architecture?: string) => partitionMountPoints(configOf(toml, architecture)).map((p) => p.path);

test("the boards' boot partitions are the mount points while scripts run, the root's is not", () => {
  assert.deepEqual(paths('[board]\nname = "raspberrypi-4"\n', 'arm64'), ['/boot/firmware']);
  assert.deepEqual(paths('[board]\nname = "raspberrypi-2"\n', 'armhf'), ['/boot/firmware']);
  assert.deepEqual(paths('[board]\nname = "x86_64-uefi"\n'), ['/efi']);
  assert.deepEqual(paths('[board]\nname = "aarch64-uboot"\n', 'arm64'), ['/boot']);
});

test('every partition with a mount point, parents first, then by path; swap and BIOS boot partitions have none', () => {
  const layout = `
[[partition]]\ntype = "root"\n
[[partition]]\ntype = "linux-generic"\ncontents = "/boot/efi"\nfilesystem = "vfat"\n
[[partition]]\ntype = "xbootldr"\n
[[partition]]\ntype = "swap"\nsize = "1G"\n
[[partition]]\ntype = "bios-boot"\nsize = "1M"\n
[[partition]]\ntype = "var"\n
[[partition]]\ntype = "home"\nmount = "/home"\n`;
  assert.deepEqual(paths(layout), ['/boot', '/home', '/var', '/boot/efi']);
  assert.deepEqual(paths(''), []);
});

test('missing mount points are made as the output stage makes them; a symlink in their place is refused', () => {
  const config = configOf('[board]\nname = "raspberrypi-4"\n', 'arm64');
  const root = mkdtempSync(join(tmpdir(), 'kiln-partition-mounts-root-'));
  mkdirSync(join(root, 'boot'));
  utimesSync(join(root, 'boot'), 1000, 1000);
  assert.deepEqual(scriptMountPoints(root, config, 1_700_000_000), ['/boot/firmware']);
  const made = lstatSync(join(root, 'boot/firmware'));
  assert.ok(made.isDirectory());
  assert.equal(made.mode & 0o7777, 0o755);
  assert.equal(made.mtimeMs / 1000, 1_700_000_000);
  assert.equal(lstatSync(join(root, 'boot')).mtimeMs / 1000, 1000, 'the parent keeps its times');
  assert.deepEqual(scriptMountPoints(root, config, 1_700_000_000), ['/boot/firmware'], 'an existing one is kept');

  const hostile = mkdtempSync(join(tmpdir(), 'kiln-partition-mounts-root-'));
  symlinkSync('/tmp', join(hostile, 'boot'));
  assert.throws(() => scriptMountPoints(hostile, config, 1_700_000_000), /\/boot\/firmware is not a directory in the image \(\/boot is a symlink\)/);
});
