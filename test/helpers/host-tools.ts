/**
 * The host tools the tests call, with the Debian package that provides each
 * (the same names .ci/run installs), so a missing one is reported by
 * package instead of as a failure deep inside another tool. Under
 * KILN_TEST_STRICT (set by .ci/run) a test that would be skipped for want
 * of a tool fails instead: CI must run everything.
 */
import { existsSync } from 'node:fs';
import { findOnPath } from '../../src/util/path.ts';

/** Debian package, files besides the binary that the tool needs. */
type ToolFacts = readonly [string, (readonly string[])?];

/** Tool -> [Debian package, files besides the binary that it needs]. */
const TOOLS = {
  'repo-add': ['pacman-package-manager and makepkg', ['/usr/share/makepkg/util/compress.sh', '/usr/share/makepkg/util/message.sh']],
  pacman: ['pacman-package-manager'],
  vercmp: ['pacman-package-manager'],
  bsdtar: ['libarchive-tools'],
  cpio: ['cpio'],
  'qemu-img': ['qemu-utils'],
  umoci: ['umoci'],
  skopeo: ['skopeo'],
  'dpkg-deb': ['dpkg'],
  dpkg: ['dpkg'],
  perl: ['perl-base'],
  ar: ['binutils'],
  python3: ['python3'],
  gpg: ['gnupg'],
  zstd: ['zstd'],
  xz: ['xz-utils'],
  setfattr: ['attr'],
  getfattr: ['attr'],
  setcap: ['libcap2-bin'],
  getcap: ['libcap2-bin'],
  mmdebstrap: ['mmdebstrap'],
  newuidmap: ['uidmap'],
  runuser: ['util-linux'],
  pgrep: ['procps'],
  mke2fs: ['e2fsprogs'],
  e2fsck: ['e2fsprogs'],
  debugfs: ['e2fsprogs'],
  dumpe2fs: ['e2fsprogs'],
  'mkfs.vfat': ['dosfstools'],
  'fsck.vfat': ['dosfstools'],
  mmd: ['mtools'],
  mcopy: ['mtools'],
  mdir: ['mtools'],
  'mkfs.erofs': ['erofs-utils'],
  'fsck.erofs': ['erofs-utils'],
  mksquashfs: ['squashfs-tools'],
  unsquashfs: ['squashfs-tools'],
  'mkfs.btrfs': ['btrfs-progs'],
  btrfs: ['btrfs-progs'],
  mkswap: ['util-linux'],
  sfdisk: ['fdisk'],
  sgdisk: ['gdisk'],
  blkid: ['util-linux'],
  rsync: ['rsync'],
} as const satisfies Record<string, ToolFacts>;

export type HostTool = keyof typeof TOOLS;

/** How missingTools looks at the host (a test hands in its own). */
export interface HostLookup {
  /** The tool's path on PATH, or undefined. */
  onPath(tool: string): string | undefined;
  fileExists(path: string): boolean;
}

const HOST: HostLookup = { onPath: findOnPath, fileExists: existsSync };

/** Why the tools cannot all be used here (naming the packages to install), or undefined. */
export function missingTools(tools: HostTool[], host: HostLookup = HOST): string | undefined {
  const facts = (t: HostTool): ToolFacts => TOOLS[t];
  const missing = tools.filter((t) => !host.onPath(t) || (facts(t)[1] ?? []).some((f) => !host.fileExists(f)));
  if (!missing.length) return undefined;
  const packages = [...new Set(missing.map((t) => facts(t)[0]))];
  return `${missing.join(', ')} missing: install ${packages.join(', ')}`;
}

/** A skip reason, or under KILN_TEST_STRICT an error: CI runs every test or says why it cannot. */
export function skipOrFail(reason: string | undefined): string | undefined {
  if (reason && process.env.KILN_TEST_STRICT) throw new Error(`${reason} (KILN_TEST_STRICT is set: every test must run)`);
  return reason;
}
