/** The host programs today's writers run (src/archive's compress, readXattrs; cp). */
import type { HostTool } from './writer.ts';

export const GETFATTR: HostTool = { command: 'getfattr', packages: ['attr', 'attr', 'attr'] };
export const GZIP: HostTool = { command: 'gzip', packages: ['gzip', 'gzip', 'gzip'] };
export const XZ: HostTool = { command: 'xz', packages: ['xz-utils', 'xz', 'xz'] };
export const ZSTD: HostTool = { command: 'zstd', packages: ['zstd', 'zstd', 'zstd'] };
export const CP: HostTool = { command: 'cp', packages: ['coreutils', 'coreutils', 'coreutils'] };
export const QEMU_IMG: HostTool = { command: 'qemu-img', packages: ['qemu-utils', 'qemu-img', 'qemu-img'] };
