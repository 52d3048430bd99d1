/**
 * rock64-rk3328: a Debian bookworm arm64 SD-card image whose U-Boot
 * (idbloader.img at sector 64, u-boot.itb at sector 16384) comes from the
 * image's own u-boot-rockchip, built as the unprivileged test user and
 * checked with other tools, since QEMU has no RK3328 machine: sgdisk -v
 * and sfdisk for the table, dd for the raw sectors against the files
 * dpkg-deb takes out of the very .debs the build installed (found in the
 * download cache by the manifest's SHA-256), mtools for the FAT boot
 * partition, blkid for the root filesystem extlinux.conf names.
 * To stay cheap enough for every run, the image adds tiny-initramfs, the
 * kernel's other initramfs tool (a small C program): with initramfs-tools
 * (what the board brings otherwise) update-initramfs under emulation is
 * most of an arm64 build. The refusals (a distribution without the board's
 * U-Boot package, a first partition inside the boot chain) come before
 * anything is downloaded.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { fatListing, fatRead, sfdiskJson, tool } from './disk-checks.ts';

const baseSkip = integrationSkipReason() ?? (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror');
const SECTOR = 512;

const toml = (extra = '') => `[distribution]
name = "debian"
release = "bookworm"

[board]
name = "rock64-rk3328"

[packages]
base = "minimal"
install = { add = ["tiny-initramfs"] }

[output]
format = ["disk"]
${extra}`;

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^kiln: error/.test(l));
const downloads = join(isRoot ? `/home/${TEST_USER}` : (process.env.HOME ?? ''), '.cache/kiln/downloads/blobs/sha256');

interface ManifestPackage {
  name: string;
  version: string;
  sha256: string;
}

/** The .deb the build installed, from the download cache (checked against the manifest's SHA-256). */
function installedDeb(packages: ManifestPackage[], name: string | RegExp): { deb: string; pkg: ManifestPackage } {
  const pkg = packages.find((p) => (typeof name === 'string' ? p.name === name : name.test(p.name)));
  assert.ok(pkg, `the manifest lists no ${name}`);
  const deb = join(downloads, pkg.sha256.slice(0, 2), pkg.sha256);
  assert.equal(createHash('sha256').update(readFileSync(deb)).digest('hex'), pkg.sha256, `${deb} is not ${pkg.name}'s .deb`);
  return { deb, pkg };
}

/** One file of a .deb, as dpkg-deb and tar take it out. */
function debFile(deb: string, path: string): Buffer {
  const r = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$0" | tar -xO "$1"', deb, `.${path}`], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${deb} ${path}: ${r.stderr}`);
  return r.stdout;
}

/** `count` sectors of the disk from `sector`, as dd reads them. */
function ddSectors(disk: string, sector: number, count: number): Buffer {
  const r = spawnSync('dd', [`if=${disk}`, `bs=${SECTOR}`, `skip=${sector}`, `count=${count}`, 'status=none'], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

/** A FAT file's bytes (mcopy into a temporary file). */
function fatBytes(disk: string, offset: number, file: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-rockchip-fat-'));
  try {
    tool('mcopy', ['-n', '-i', `${disk}@@${offset}`, file, join(dir, 'f')]);
    return readFileSync(join(dir, 'f'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tools = missingTools(['sfdisk', 'sgdisk', 'mdir', 'mcopy', 'blkid', 'dpkg-deb']);

describe('rock64-rk3328: Debian bookworm arm64 SD-card image with U-Boot from u-boot-rockchip (QEMU cannot boot it)', { skip: skipOrFail(baseSkip ?? tools) }, () => {
  const dir = imageDir(toml());
  const disk = join(dir, 'out/image.raw');
  let log = '';
  let packages: ManifestPackage[] = [];
  before(async () => {
    const started = Date.now();
    const r = await kiln(['build', '-C', dir], { timeoutMs: 2_400_000 });
    log = r.stderr + r.stdout;
    assert.equal(r.code, 0, log);
    log += `\nbuild: ${((Date.now() - started) / 1000).toFixed(0)} s`;
    packages = (JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { packages: ManifestPackage[] }).packages;
  });

  test('the log says which blobs went where, and extlinux names the kernel with the board console', (t) => {
    t.diagnostic(log.split('\n').at(-1)!);
    assert.match(log, /^\[boot\] U-Boot from u-boot-rockchip \(\/usr\/lib\/u-boot\/rock64-rk3328\): idbloader\.img \(\d+ bytes\) at sector 64, u-boot\.itb \(\d+ bytes\) at sector 16384$/m);
    assert.match(log, /^\[boot\] extlinux: \S+-arm64; options root=UUID=\S+ rw console=ttyS2,1500000; 2 files in \/boot$/m);
  });

  test('sgdisk -v finds no problem; the GPT entries end before sector 64 and every partition starts at sector 32768 or later', () => {
    assert.match(tool('sgdisk', ['-v', disk]).out, /No problems found/);
    const dump = tool('sfdisk', ['--dump', disk]).out;
    const firstLba = Number(/^first-lba: (\d+)$/m.exec(dump)?.[1]);
    assert.ok(firstLba > 0 && firstLba <= 64, `first-lba ${firstLba}: the entry array would reach the idbloader at sector 64`);
    const table = sfdiskJson(disk);
    assert.equal(table.label, 'gpt');
    assert.equal(table.partitions[0]!.start, 32768);
    assert.match(table.partitions[0]!.attrs ?? '', /LegacyBIOSBootable/);
    for (const p of table.partitions) assert.ok(p.start >= 32768, `${p.node} starts at sector ${p.start}, inside the boot chain`);
  });

  test("the sectors at 64 and 16384 hold idbloader.img and u-boot.itb byte for byte as the installed u-boot-rockchip's .deb has them", () => {
    const { deb } = installedDeb(packages, 'u-boot-rockchip');
    for (const [file, sector] of [
      ['idbloader.img', 64],
      ['u-boot.itb', 16384],
    ] as const) {
      const want = debFile(deb, `/usr/lib/u-boot/rock64-rk3328/${file}`);
      assert.ok(want.length > 0);
      const got = ddSectors(disk, sector, Math.ceil(want.length / SECTOR));
      assert.ok(got.subarray(0, want.length).equals(want), `${file} at sector ${sector} differs from the package's`);
    }
  });

  test("extlinux.conf's root= is the root partition as blkid sees it; the kernel and the kernel package's rk3328-rock64.dtb are on the FAT partition", () => {
    const table = sfdiskJson(disk);
    const [boot, root] = table.partitions;
    const offset = boot!.start * SECTOR;
    const conf = fatRead(disk, offset, '::/extlinux/extlinux.conf');
    const rootUuid = tool('blkid', ['--probe', '--offset', String(root!.start * SECTOR), '--output', 'value', '--match-tag', 'UUID', disk]).out.trim();
    assert.match(rootUuid, /^[0-9a-f-]{36}$/);
    assert.match(conf, new RegExp(`^ {2}APPEND root=UUID=${rootUuid} rw console=ttyS2,1500000$`, 'm'));
    const kernel = /^ {2}LINUX \/(vmlinuz-(\S+))$/m.exec(conf);
    assert.ok(kernel, conf);
    assert.match(fatListing(disk, offset), new RegExp(`^::/${kernel[1]!.replace(/\./g, '\\.')}$`, 'm'));
    const fdt = /^ {2}FDT (\/\S+\/rk3328-rock64\.dtb)$/m.exec(conf)?.[1];
    assert.ok(fdt, conf);
    const { deb } = installedDeb(packages, `linux-image-${kernel[2]!}`);
    const dtb = debFile(deb, `/usr/lib/linux-image-${kernel[2]!}/rockchip/rk3328-rock64.dtb`);
    assert.ok(fatBytes(disk, offset, `::${fdt}`).equals(dtb), `${fdt} is not the kernel package's rockchip/rk3328-rock64.dtb`);
  });
});

describe('rock64-rk3328 refusals, before anything is downloaded', { skip: skipOrFail(baseSkip) }, () => {
  test('with Arch Linux ARM, which has no package kiln knows with its U-Boot: one line, exit 2', async () => {
    const dir = imageDir('[distribution]\nname = "archlinuxarm"\n\n[board]\nname = "rock64-rk3328"\n\n[output]\nformat = ["disk"]\n');
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.deepEqual(
      errorLines(r.stderr).map((l) => l.replace(/ \S*kiln\.toml:/, ' kiln.toml:')),
      [`kiln: error: kiln.toml:5: board.name: board rock64-rk3328 writes its U-Boot from Debian's u-boot-rockchip, and Arch Linux ARM has no package kiln knows with it; use distribution.name = "debian"`],
    );
    assert.doesNotMatch(r.stdout + r.stderr, /^(fetch|resolve) /m);
  });

  test('a layout whose first partition starts at 1M, inside the boot chain: one line and the offset to give, exit 2', async () => {
    const dir = imageDir(toml('\n[[partition]]\ntype = "root"\nfilesystem = "ext4"\n'));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.deepEqual(errorLines(r.stderr), ["kiln: error: the first partition starts at 1 MiB (sector 2048), inside board rock64-rk3328's boot chain, which takes the sectors before 32768 (idbloader.img at sector 64, u-boot.itb at sector 16384)"]);
    assert.match(r.stderr, /^hint: give the first \[\[partition\]\] offset = "16M" or more$/m);
    assert.doesNotMatch(r.stdout + r.stderr, /^(fetch|resolve) /m);
  });
});
