import type { TwinRule } from './twins.ts';

/**
 * busybox's applets that are pure functions of their arguments, input and
 * files, and start no other program (find, xargs, env, timeout and the
 * shells would run applets in-process or through /proc/self/exe; awk has
 * system()); uname, arch, nproc and getconf report the machine. A busybox
 * twin runs natively only as one of these (formats/pacman/twins.ts,
 * formats/apk/twins.ts).
 */
export const PURE_BUSYBOX_APPLETS: readonly string[] = [
  'basename', 'cat', 'chmod', 'cmp', 'cp', 'cut', 'diff', 'dirname', 'echo', 'egrep', 'expr', 'false', 'fgrep', 'grep', 'gunzip', 'gzip', 'head', 'ln', 'ls',
  'md5sum', 'mkdir', 'mv', 'printf', 'readlink', 'realpath', 'rm', 'rmdir', 'sed', 'sha1sum', 'sha256sum', 'sha512sum', 'sort', 'tail', 'tee', 'touch', 'tr', 'true', 'uniq', 'wc', 'zcat',
];

/**
 * The GNU tools both musl- and glibc-based trees without dpkg twin by the
 * same package names (Arch's and Alpine's): coreutils but what reports the
 * machine, and the text and file tools scripts start most.
 */
export const GNU_TOOL_TWIN_RULES: Readonly<Record<string, TwinRule>> = {
  coreutils: { except: ['uname', 'arch', 'stdbuf', 'nproc'] },
  sed: {},
  grep: {},
  findutils: {},
  gzip: {},
  diffutils: {},
  gawk: { only: ['gawk'], aliases: { gawk: ['awk'] } },
};
