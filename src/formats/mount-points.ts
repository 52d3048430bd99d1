/**
 * The directories the sandbox mounts over when scripts run in the tree
 * (src/sandbox/root.ts: /proc, /dev, /sys, and /run when it exists), and
 * /tmp for the scripts. A format makes those its packages did not: deb
 * before the unpack, with plain modes (base-files then leaves them as they
 * are), pacman after it, with the modes Arch's `filesystem` gives them.
 */
import type { Tree } from '../tree/index.ts';

/** Each mount point with the mode a distribution's filesystem package gives it. */
const MOUNT_POINTS = [
  ['proc', 0o555],
  ['sys', 0o555],
  ['dev', 0o755],
  ['run', 0o755],
] as const;

/** Makes the mount points and /tmp (mode 1777) where the tree lacks them; `packageModes`: with the modes above, else mkdir's own. */
export function ensureMountPoints(tree: Tree, opts: { packageModes: boolean }): void {
  for (const [dir, mode] of MOUNT_POINTS) {
    if (!tree.exists(dir)) tree.mkdir(dir, opts.packageModes ? { mode } : {});
  }
  if (!tree.exists('tmp')) tree.mkdir('tmp', { mode: 0o1777 });
}
