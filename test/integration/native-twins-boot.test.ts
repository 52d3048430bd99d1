/**
 * Native twins for the bootable set: Debian bookworm arm64 with
 * linux-image-arm64, systemd-sysv and udev, whose kernel postinst runs
 * update-initramfs (mkinitramfs: sh, find, cp, modinfo and modprobe per
 * module, depmod, cpio, gzip). The tar, the initramfs in it included, must
 * be the same byte for byte however the programs ran.
 *
 * In CI: the default twins build, whose initramfs is made once (the kernel
 * hook's update-initramfs -c is deferred to initramfs-tools' trigger,
 * src/formats/deb/deferred.ts) and is a valid gzip'd newc archive (read by
 * the host's cpio) with /init, the kernel's modules and their indexes.
 *
 * With KILN_TEST_SLOW=1: the default twins against the same build with the kmod and cpio
 * twins held back (their versions in dpkg's status marked after the unpack,
 * so the dispatcher refuses them, and put back after the configure), which
 * runs mkinitramfs's module tools and cpio under QEMU; and also against build.emulation = "full" (everything under
 * QEMU: more than 20 minutes on 2 loaded cores, so not in CI; the bench's
 * bootable rows run it too).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { kernelSupportsNamespacedBinfmt } from '../../src/pipeline/emulation.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(
  integrationSkipReason() ??
    (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
    (kernelSupportsNamespacedBinfmt() ? undefined : 'native twins need binfmt_misc per namespace (Linux >= 6.7)') ??
    missingTools(['cpio']),
);
const slow = process.env.KILN_TEST_SLOW === '1';

const EPOCH = '1700000000';
const LONG = { timeout: 90 * 60_000 };
const HELD_BACK = ['kmod', 'cpio'];

/** After the unpack, dpkg's status gives kmod and cpio other versions than their twins'; after the configure, their own again. */
const HOLD_BACK_HOOKS = HELD_BACK.map(
  (name) => `
[[hook]]
stage = "unpack"
name = "10-hold-back-${name}"
run = '''sed -i '/^Package: ${name}$/,/^$/ s/^Version: .*/&+kiln1/' "$KILN_ROOT/var/lib/dpkg/status"'''

[[hook]]
stage = "configure"
name = "10-put-back-${name}"
run = '''sed -i '/^Package: ${name}$/,/^$/ s/^\\(Version: .*\\)+kiln1$/\\1/' "$KILN_ROOT/var/lib/dpkg/status"'''
`,
).join('');

const toml = (extra = '') =>
  `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "arm64"\nmirror = "${mirror}"\n\n[packages]\nbase = "minimal"\ninstall = ["linux-image-arm64", "systemd-sysv", "udev"]\n\n[build]\nemulation = "native-twins"\n\n[output]\nformat = ["tar"]\n${extra}`;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface Built {
  code: number;
  stderr: string;
  sha: string;
  listing: string[];
}

async function build(dir: string, args: string[] = []): Promise<Built> {
  const r = await kiln(['build', '-C', dir, '--rebuild', '--debug', ...args], { env: { SOURCE_DATE_EPOCH: EPOCH }, timeoutMs: LONG.timeout });
  const tar = join(dir, 'out/image.tar');
  const ok = r.code === 0;
  return { ...r, sha: ok ? sha256(tar) : '', listing: ok ? execFileSync('tar', ['-tf', tar], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n') : [] };
}

/** The dpkg configure run's programs, natively and emulated (the --debug line). */
function dpkgPrograms(log: string): { native: string; emulated: string } {
  const m = [...log.matchAll(/\[dpkg\] natively: (.*); emulated: (.*)$/gm)];
  assert.equal(m.length, 1, log);
  return { native: m[0]?.[1] as string, emulated: m[0]?.[2] as string };
}

const slowSkip = skip || (slow ? false : 'set KILN_TEST_SLOW=1 (a second arm64 bootable build, with mkinitramfs’s module tools under QEMU)');

/** The names in the initramfs (gzip'd newc, as mkinitramfs writes it without zstd in the tree), by the host's cpio. */
function initramfsNames(tar: string, member: string): string[] {
  const initrd = execFileSync('tar', ['-xOf', tar, member], { maxBuffer: 512 << 20 });
  assert.deepEqual([...initrd.subarray(0, 2)], [0x1f, 0x8b], 'a gzip stream');
  const cpio = execFileSync('gzip', ['-dc'], { input: initrd, maxBuffer: 1 << 30 });
  return execFileSync('cpio', ['-it', '--quiet'], { input: cpio, encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
}

describe('native twins: Debian bookworm arm64 bootable set (kernel, initramfs, systemd-sysv, udev)', { skip }, () => {
  let twins: Built;
  let dir: string;
  before(async () => {
    dir = imageDir(toml());
    twins = await build(dir);
  }, LONG);

  test('the tree has a kernel and its initramfs, made once, by the trigger', () => {
    assert.equal(twins.code, 0, twins.stderr);
    assert.ok(twins.listing.some((p) => /^\.?\/?boot\/vmlinuz-[\d.]+-\d+-arm64$/.test(p)), 'a kernel in /boot');
    assert.ok(twins.listing.some((p) => /^\.?\/?boot\/initrd\.img-[\d.]+-\d+-arm64$/.test(p)), 'an initramfs in /boot');
    assert.match(twins.stderr, /update-initramfs: kiln: deferred \/boot\/initrd\.img-[^ ]+ to the update-initramfs trigger/);
    assert.equal([...twins.stderr.matchAll(/update-initramfs: Generating /g)].length, 1, twins.stderr);
    assert.match(twins.stderr, /Processing triggers for initramfs-tools[^\n]*\n(?:[^\n]*\n)*?[^\n]*update-initramfs: Generating \/boot\/initrd\.img-/);
    assert.doesNotMatch(twins.stderr, /no trigger made the deferred initramfs/);
    assert.ok(!twins.listing.some((p) => /initrd\.img-.*\.(dpkg-bak|new|bak)$/.test(p)), 'no backup or half-made initramfs');
  });

  test('the initramfs is a valid archive with /init, the kernel’s modules and their indexes', () => {
    assert.equal(twins.code, 0, twins.stderr);
    const member = twins.listing.find((p) => /^\.?\/?boot\/initrd\.img-[\d.]+-\d+-arm64$/.test(p)) as string;
    const version = /initrd\.img-(.+)$/.exec(member)?.[1] as string;
    const names = initramfsNames(join(dir, 'out/image.tar'), member);
    for (const name of ['init', 'usr/bin/kmod', `usr/lib/modules/${version}/modules.dep`, `usr/lib/modules/${version}/modules.dep.bin`, 'scripts/local', 'conf/initramfs.conf']) {
      assert.ok(names.includes(name), `${name} in the initramfs`);
    }
    assert.ok(names.filter((n) => /^usr\/lib\/modules\/[^/]+\/kernel\/.*\.ko(\.xz)?$/.test(n)).length > 100, 'the kernel’s modules');
    assert.ok(names.some((n) => /^usr\/lib\/udev\//.test(n)), 'udev’s part (its hook ran in the final state)');
  });

  test('mkinitramfs’s modinfo, modprobe, depmod and cpio run natively', () => {
    assert.equal(twins.code, 0, twins.stderr);
    const a = dpkgPrograms(twins.stderr);
    // A twinned program is logged by its package's path (modinfo and modprobe are /bin/kmod), an emulated one as started.
    for (const p of ['/bin/kmod', '/bin/cpio']) assert.match(a.native, new RegExp(`(^|, )${p} \\d+`), `${p} natively`);
    assert.doesNotMatch(a.emulated, /\/sbin\/modinfo |\/sbin\/modprobe |\/bin\/cpio /);
  });
});

describe('native twins, with KILN_TEST_SLOW=1: the bootable set with mkinitramfs’s module tools emulated, and fully emulated', { skip: slowSkip }, () => {
  let twins: Built;
  let heldBack: Built;
  before(async () => {
    twins = await build(imageDir(toml()));
    heldBack = await build(imageDir(toml(HOLD_BACK_HOOKS)));
  }, LONG);

  test('mkinitramfs’s modinfo, modprobe, depmod and cpio run natively; with their twins held back, under QEMU; the tar is the same byte for byte', () => {
    assert.equal(twins.code, 0, twins.stderr);
    assert.equal(heldBack.code, 0, heldBack.stderr);
    const a = dpkgPrograms(twins.stderr);
    // A twinned program is logged by its package's path (modinfo and modprobe are /bin/kmod), an emulated one as started.
    for (const p of ['/bin/kmod', '/bin/cpio']) assert.match(a.native, new RegExp(`(^|, )${p} \\d+`), `${p} natively`);
    assert.doesNotMatch(a.emulated, /\/sbin\/modinfo |\/sbin\/modprobe |\/bin\/cpio /);
    for (const name of HELD_BACK) assert.match(heldBack.stderr, new RegExp(`${name}'s twin is not used: the tree has [^ ]+\\+kiln1, the twin is `));
    const b = dpkgPrograms(heldBack.stderr);
    for (const p of ['/sbin/modinfo', '/sbin/modprobe', '(/usr)?/bin/cpio']) assert.match(b.emulated, new RegExp(`(^|, )${p} \\d+`), `${p} emulated`);
    assert.doesNotMatch(b.native, /\/bin\/kmod |\/bin\/cpio /);
    assert.equal(twins.sha, heldBack.sha);
  });

  test('with KILN_TEST_SLOW=1: the same tar as build.emulation = "full"', { ...LONG, skip: slow ? false : 'set KILN_TEST_SLOW=1 (the full-emulation bootable build takes more than 20 minutes here)' }, async () => {
    const full = await build(imageDir(toml()), ['--set', 'build.emulation=full']);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(twins.sha, full.sha);
  });
});
