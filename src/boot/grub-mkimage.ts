/**
 * grub-mkimage from the image's own GRUB, so that the core image and the
 * modules it loads later from /boot/grub are of one version: the tree's
 * /usr/bin/grub-mkimage (grub-common, which grub-pc-bin and
 * grub-efi-*-bin depend on) run natively through the tree's own dynamic
 * loader and libraries (no chroot, no root: it only reads the module
 * directory and writes a file), with the tree's module directory.
 *
 * A tree of another architecture than the host cannot run its binary
 * natively; then the host's grub-mkimage builds the image from the tree's
 * modules (-d): grub-mkimage only links the modules of the target it is
 * given, whatever it runs on, so the result is the tree's GRUB. A host
 * GRUB of another version may refuse the tree's modules; it says so.
 * Fixed inputs (modules in order, config, prefix) give the same image.
 */
import { spawnSync } from 'node:child_process';
import { arch } from 'node:os';
import type { Tree } from '../tree/index.ts';
import { BuildError, UserError } from '../util/errors.ts';
import { findOnPath } from '../util/path.ts';

const MKIMAGE = '/usr/bin/grub-mkimage';

/** The dynamic loader and library directories of a tree of the host's machine. */
const NATIVE: Record<string, { loader: string; libraries: string[] }> = {
  x64: { loader: '/lib64/ld-linux-x86-64.so.2', libraries: ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib'] },
  arm64: { loader: '/lib/ld-linux-aarch64.so.1', libraries: ['/usr/lib/aarch64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'] },
};

const HOST_MACHINE: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

export interface MkimageRequest {
  tree: Tree;
  machine: string;
  /** grub-mkimage's -O: i386-pc, x86_64-efi, arm64-efi, riscv64-efi. */
  format: string;
  /** The tree's module directory: /usr/lib/grub/FORMAT. */
  moduleDirectory: string;
  prefix: string;
  /** Host path of the embedded config file. */
  config: string;
  /** Host path of the image to write. */
  output: string;
  modules: readonly string[];
}

/** How grub-mkimage runs for this tree: its own binary through its loader, or the host's. */
function command(tree: Tree, machine: string): { argv: string[]; whose: string } {
  const native = NATIVE[arch()];
  if (native && HOST_MACHINE[arch()] === machine && tree.stat(MKIMAGE)?.isFile() && tree.stat(native.loader)) {
    const libraries = native.libraries.filter((d) => tree.isDirectory(d)).map((d) => tree.hostPath(d));
    return { argv: [tree.hostPath(native.loader), '--inhibit-cache', '--library-path', libraries.join(':'), tree.hostPath(MKIMAGE)], whose: "the image's" };
  }
  const host = findOnPath('grub-mkimage');
  if (!host) throw new UserError(`the image has no ${MKIMAGE} kiln can run here (it is for ${machine}), and the host has no grub-mkimage to build its GRUB image with`, 'install grub-common on the host (Debian/Ubuntu)');
  return { argv: [host], whose: "the host's" };
}

export function grubMkimage(req: MkimageRequest): void {
  const { argv, whose } = command(req.tree, req.machine);
  const args = ['-d', req.tree.hostPath(req.moduleDirectory), '-O', req.format, '-o', req.output, '-p', req.prefix, '-c', req.config, ...req.modules];
  const r = spawnSync(argv[0]!, [...argv.slice(1), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
  if (r.error || r.status !== 0) {
    const said = (r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join('; ');
    throw new BuildError(`grub-mkimage (${whose}) could not make the ${req.format} image: ${said || `status ${r.status}`}`);
  }
}
