/** The host programs today's writers run (src/archive's compress, readXattrs; cp). */
import type { HostTool } from './writer.ts';

export const GETFATTR: HostTool = { command: 'getfattr', packages: ['attr', 'attr', 'attr'] };
export const GZIP: HostTool = { command: 'gzip', packages: ['gzip', 'gzip', 'gzip'] };
export const XZ: HostTool = { command: 'xz', packages: ['xz-utils', 'xz', 'xz'] };
export const ZSTD: HostTool = { command: 'zstd', packages: ['zstd', 'zstd', 'zstd'] };
export const CP: HostTool = { command: 'cp', packages: ['coreutils', 'coreutils', 'coreutils'] };
export const QEMU_IMG: HostTool = { command: 'qemu-img', packages: ['qemu-utils', 'qemu-img', 'qemu-img'] };

// The filesystem makers' programs (src/outputs/filesystems/).
export const MKE2FS: HostTool = { command: 'mke2fs', packages: ['e2fsprogs', 'e2fsprogs', 'e2fsprogs'] };
export const DEBUGFS: HostTool = { command: 'debugfs', packages: ['e2fsprogs', 'e2fsprogs', 'e2fsprogs'] };
export const DUMPE2FS: HostTool = { command: 'dumpe2fs', packages: ['e2fsprogs', 'e2fsprogs', 'e2fsprogs'] };
export const MKFS_VFAT: HostTool = { command: 'mkfs.vfat', packages: ['dosfstools', 'dosfstools', 'dosfstools'] };
export const MMD: HostTool = { command: 'mmd', packages: ['mtools', 'mtools', 'mtools'] };
export const MCOPY: HostTool = { command: 'mcopy', packages: ['mtools', 'mtools', 'mtools'] };
export const MKFS_EROFS: HostTool = { command: 'mkfs.erofs', packages: ['erofs-utils', 'erofs-utils', 'erofs-utils'] };
export const MKSQUASHFS: HostTool = { command: 'mksquashfs', packages: ['squashfs-tools', 'squashfs-tools', 'squashfs-tools'] };
export const MKFS_BTRFS: HostTool = { command: 'mkfs.btrfs', packages: ['btrfs-progs', 'btrfs-progs', 'btrfs-progs'] };
export const MKSWAP: HostTool = { command: 'mkswap', packages: ['util-linux', 'util-linux', 'util-linux'] };
