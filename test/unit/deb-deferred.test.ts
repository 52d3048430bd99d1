/**
 * The deferred update-initramfs of Debian trees (src/formats/deb/deferred.ts):
 * the wrapper, run by the host's sh on a directory laid out as a tree (its
 * paths prefixed by it), with a dpkg-trigger and an update-initramfs that
 * record how they were called; and which placeholders are still pending.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initramfsWrapper, pendingCreates, PLACEHOLDER } from '../../src/formats/deb/deferred.ts';
import { Tree } from '../../src/tree/index.ts';

const VERSION = '6.1.0-50-arm64';

interface Layout {
  kernel?: boolean;
  initrd?: boolean;
  interest?: boolean;
  triggerStatus?: number;
}

/** A tree with a kernel, initramfs-tools' trigger interest, a recording update-initramfs and dpkg-trigger. */
function layout(opts: Layout = {}): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'kiln-deferred-'));
  const bin = join(root, 'host-bin');
  for (const dir of ['boot', 'var/lib/dpkg/triggers', 'usr/sbin']) mkdirSync(join(root, dir), { recursive: true });
  mkdirSync(bin);
  if (opts.kernel ?? true) writeFileSync(join(root, `boot/vmlinuz-${VERSION}`), 'kernel');
  if (opts.initrd) writeFileSync(join(root, `boot/initrd.img-${VERSION}`), 'an initramfs');
  if (opts.interest ?? true) writeFileSync(join(root, 'var/lib/dpkg/triggers/update-initramfs'), 'initramfs-tools\n');
  writeFileSync(join(root, 'usr/sbin/update-initramfs'), `#!/bin/sh\necho "$0 $*" >> ${root}/real.log\n`);
  writeFileSync(join(bin, 'dpkg-trigger'), `#!/bin/sh\necho "$*" >> ${root}/trigger.log\nexit ${opts.triggerStatus ?? 0}\n`);
  chmodSync(join(root, 'usr/sbin/update-initramfs'), 0o755);
  chmodSync(join(bin, 'dpkg-trigger'), 0o755);
  writeFileSync(join(root, 'wrapper'), initramfsWrapper(root), { mode: 0o755 });
  return { root, bin };
}

function runWrapper(l: { root: string; bin: string }, args: string[], pkg: string | null = 'linux-image-6.1.0-50-arm64') {
  const env: Record<string, string> = { PATH: `${l.bin}:/usr/bin:/bin` };
  if (pkg !== null) env.DPKG_MAINTSCRIPT_PACKAGE = pkg;
  const r = spawnSync('sh', [join(l.root, 'wrapper'), ...args], { env, encoding: 'utf8' });
  const read = (f: string) => (existsSync(join(l.root, f)) ? readFileSync(join(l.root, f), 'utf8') : '');
  return { status: r.status, stdout: r.stdout, real: read('real.log'), trigger: read('trigger.log'), initrd: read(`boot/initrd.img-${VERSION}`) };
}

function withLayout(opts: Layout, fn: (l: { root: string; bin: string }) => void): void {
  const l = layout(opts);
  try {
    fn(l);
  } finally {
    rmSync(l.root, { recursive: true, force: true });
  }
}

describe('deferred update-initramfs (deb)', () => {
  test('the kernel hook’s create (-c -k VERSION -b /boot) activates the trigger and leaves a placeholder, without running update-initramfs', () => {
    withLayout({}, (l) => {
      const r = runWrapper(l, ['-c', '-k', VERSION, '-b', '/boot']);
      assert.equal(r.status, 0);
      assert.equal(r.real, '');
      assert.equal(r.trigger, '--no-await update-initramfs\n');
      assert.equal(r.initrd, PLACEHOLDER);
      assert.match(r.stdout, /deferred \/boot\/initrd\.img-6\.1\.0-50-arm64 to the update-initramfs trigger/);
      assert.deepEqual(pendingCreates(new Tree(l.root)), [VERSION]);
    });
  });

  test('so is -c -k VERSION without -b', () => {
    withLayout({}, (l) => assert.equal(runWrapper(l, ['-c', '-k', VERSION]).initrd, PLACEHOLDER));
  });

  const passedOn: [string, Layout, string[], string | null][] = [
    ['an update (-u), the trigger’s own run', {}, ['-u'], 'linux-image-6.1.0-50-arm64'],
    ['a create outside a maintainer script', {}, ['-c', '-k', VERSION], null],
    ['a create of every version (-k all)', {}, ['-c', '-k', 'all'], 'linux-image-6.1.0-50-arm64'],
    ['a create into another directory', {}, ['-c', '-k', VERSION, '-b', '/boot/efi'], 'linux-image-6.1.0-50-arm64'],
    ['a create with more options (-v)', {}, ['-c', '-k', VERSION, '-v'], 'linux-image-6.1.0-50-arm64'],
    ['a create of an initramfs that exists already', { initrd: true }, ['-c', '-k', VERSION], 'linux-image-6.1.0-50-arm64'],
    ['a create for a version with no kernel in /boot', { kernel: false }, ['-c', '-k', VERSION], 'linux-image-6.1.0-50-arm64'],
    ['a create when nothing is interested in the update-initramfs trigger', { interest: false }, ['-c', '-k', VERSION], 'linux-image-6.1.0-50-arm64'],
    ['a create when dpkg-trigger fails', { triggerStatus: 1 }, ['-c', '-k', VERSION], 'linux-image-6.1.0-50-arm64'],
  ];
  for (const [what, opts, args, pkg] of passedOn) {
    test(`${what} runs the tree’s update-initramfs with its arguments as given`, () => {
      withLayout(opts, (l) => {
        const r = runWrapper(l, args, pkg);
        assert.equal(r.status, 0);
        assert.equal(r.real, `${l.root}/usr/sbin/update-initramfs ${args.join(' ')}\n`);
        assert.notEqual(r.initrd, PLACEHOLDER);
        assert.deepEqual(pendingCreates(new Tree(l.root)), []);
      });
    });
  }

  test('pendingCreates: only placeholders, not initramfs images or other files of /boot', () => {
    withLayout({}, (l) => {
      writeFileSync(join(l.root, 'boot/initrd.img-6.1.0-49-arm64'), PLACEHOLDER);
      writeFileSync(join(l.root, 'boot/initrd.img-6.1.0-48-arm64'), `${PLACEHOLDER}more`);
      writeFileSync(join(l.root, `boot/initrd.img-${VERSION}`), 'a real initramfs');
      writeFileSync(join(l.root, 'boot/config-6.1.0-47-arm64'), PLACEHOLDER);
      assert.deepEqual(pendingCreates(new Tree(l.root)), ['6.1.0-49-arm64']);
    });
    withLayout({}, (l) => {
      rmSync(join(l.root, 'boot'), { recursive: true });
      assert.deepEqual(pendingCreates(new Tree(l.root)), []);
    });
  });
});
