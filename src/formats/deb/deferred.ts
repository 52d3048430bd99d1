/**
 * Deferred hooks for Debian trees: a command a maintainer script runs
 * during `dpkg --configure -a` whose whole product a later step of the
 * same dpkg run makes again, in the final state, so that running it the
 * first time only costs time.
 *
 * The one there is: the kernel's hook /etc/kernel/postinst.d/initramfs-tools
 * runs `update-initramfs -c -k VERSION -b /boot` when the kernel is
 * configured, before the packages configured after it (udev, systemd, ...)
 * have set up their own initramfs hooks; initramfs-tools' trigger then runs
 * `update-initramfs -u` at the end of the run, which makes the initramfs of
 * the newest kernel that has one (/boot/initrd.img-VERSION exists) again,
 * and that run's bytes are the ones the image keeps. So during the dpkg run
 * kiln puts a wrapper named update-initramfs first on the scripts' PATH
 * (under the command's own /run: nothing in the tree changes). Called by a
 * maintainer script as the kernel hook calls it, for a version whose
 * initramfs does not exist yet, it does what that create would leave for
 * the update to find, without making the initramfs: it activates the
 * update-initramfs trigger (`dpkg-trigger --no-await`, as update-initramfs
 * -u itself does; already activated by initramfs-tools' own configure, so
 * normally a no-op) and writes a placeholder /boot/initrd.img-VERSION.
 * Every other call runs the tree's own /usr/sbin/update-initramfs with its
 * arguments as given. The trigger's `-u` then makes that initramfs once, in
 * the final state, as the same program the second run would have been.
 *
 * After dpkg, a placeholder still there (the trigger's update made only the
 * newest of several kernels' initramfs, or the tree has no trigger) is
 * made then by the tree's own `update-initramfs -c -k VERSION`
 * (pendingCreates, in install.ts): never left in the image.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoKey } from '../../repo/index.ts';
import type { Tree } from '../../tree/index.ts';

/** Where the wrapper directory is inside the tree while dpkg runs (/run is private to the command). */
export const DEFERRED_BIN = '/run/kiln-deferred/bin';

/** The first line of a placeholder initramfs: what it is, for anyone who reads it before the trigger replaces it. */
export const PLACEHOLDER = 'kiln: placeholder of a deferred update-initramfs -c; the update-initramfs trigger makes this initramfs at the end of dpkg --configure\n';

const BOOT = '/boot';

/**
 * The wrapper run as `update-initramfs` during dpkg's configure (for the
 * tree's own sh). `prefix` goes before every path the script reads or
 * writes: none for the real run, inside the tree, where / is the tree's
 * root; a directory in the unit tests, which run it on the host.
 */
export function initramfsWrapper(prefix = ''): string {
  const boot = `${prefix}${BOOT}`;
  const placeholder = PLACEHOLDER.replace(/\n$/, '');
  return [
    '#!/bin/sh',
    "# kiln: a deferred hook (src/formats/deb/deferred.ts). The kernel hook's create of an initramfs",
    '# that does not exist yet becomes the state its update-initramfs trigger regenerates at the end.',
    'if [ -n "$DPKG_MAINTSCRIPT_PACKAGE" ] && [ "$1" = -c ] && [ "$2" = -k ] && [ -n "$3" ] && [ "$3" != all ] &&',
    `  { [ $# = 3 ] || { [ $# = 5 ] && [ "$4" = -b ] && [ "$5" = ${BOOT} ]; }; } &&`,
    `  [ -e ${boot}/vmlinuz-"$3" ] && [ ! -e ${boot}/initrd.img-"$3" ] && [ ! -L ${boot}/initrd.img-"$3" ] &&`,
    `  [ -f ${prefix}/var/lib/dpkg/triggers/update-initramfs ] && dpkg-trigger --no-await update-initramfs; then`,
    `  printf '%s\\n' '${placeholder}' > ${boot}/initrd.img-"$3"`,
    `  echo "update-initramfs: kiln: deferred ${BOOT}/initrd.img-$3 to the update-initramfs trigger"`,
    '  exit 0',
    'fi',
    `exec ${prefix}/usr/sbin/update-initramfs "$@"`,
    '',
  ].join('\n');
}

/** The dpkg run's PATH: the wrapper directory, then the sandbox's usual PATH. */
export function deferredPath(path: string): string {
  return `${DEFERRED_BIN}:${path}`;
}

/** The kernel versions whose initramfs is still the placeholder (made by no trigger), sorted. */
export function pendingCreates(tree: Tree): string[] {
  const boot = BOOT.slice(1);
  if (!tree.isDirectory(boot)) return [];
  const out: string[] = [];
  for (const name of tree.readdir(boot).sort()) {
    const m = /^initrd\.img-(.+)$/.exec(name);
    const st = tree.lstat(`${boot}/${name}`);
    if (!m || !st?.isFile() || st.size !== Buffer.byteLength(PLACEHOLDER)) continue;
    if (tree.readText(`${boot}/${name}`) === PLACEHOLDER) out.push(m[1] as string);
  }
  return out;
}

/** The wrapper's file in kiln's cache, named by its text's hash (written atomically; the same text is the same file). */
export async function deferredWrapperFile(cacheDir: string): Promise<string> {
  const text = initramfsWrapper();
  const file = join(cacheDir, 'native', `deferred-update-initramfs-${memoKey(text).slice(0, 16)}`);
  if (!existsSync(file)) {
    await mkdir(join(cacheDir, 'native'), { recursive: true });
    await writeFile(`${file}.${process.pid}.tmp`, text, { mode: 0o755 });
    await rename(`${file}.${process.pid}.tmp`, file);
  }
  return file;
}
