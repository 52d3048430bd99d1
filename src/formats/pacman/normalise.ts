/**
 * What finalize normalises in a pacman tree, before the common items
 * (src/normalise/common.ts): install dates in the local database, pacman's
 * log, and what a hook downloaded with pacman -Sy.
 */
import type { NormaliseItem } from '../../normalise/types.ts';
import { emptyDirectory, removeEach, saidRemoved } from '../../normalise/paths.ts';

const LOCAL_DB = 'var/lib/pacman/local';

/** A local database desc with every %INSTALLDATE% after `epoch` set to it, and whether anything changed. */
export function clampInstallDate(desc: string, epoch: number): { text: string; changed: boolean } {
  let changed = false;
  const text = desc.replace(/^%INSTALLDATE%\n(\d+)$/m, (whole, date: string) => {
    if (Number(date) <= epoch) return whole;
    changed = true;
    return `%INSTALLDATE%\n${epoch}`;
  });
  return { text, changed };
}

const INSTALL_DATES: NormaliseItem = {
  name: 'pacman-install-dates',
  paths: ['/var/lib/pacman/local/*/desc (%INSTALLDATE%)'],
  why: 'kiln dates its installs by SOURCE_DATE_EPOCH; a package a hook installs with pacman is dated by the clock: that date is set to SOURCE_DATE_EPOCH',
  run: (tree, { sourceDateEpoch }) => {
    if (!tree.lstat(LOCAL_DB)?.isDirectory()) return undefined;
    let changed = 0;
    for (const entry of tree.readdir(LOCAL_DB).sort()) {
      const path = `${LOCAL_DB}/${entry}/desc`;
      const st = tree.lstat(path);
      if (!st?.isFile()) continue;
      const clamped = clampInstallDate(tree.readText(path), sourceDateEpoch);
      if (!clamped.changed) continue;
      tree.write(path, clamped.text, { mtime: Math.floor(st.mtimeMs / 1000) });
      changed++;
    }
    return changed ? `set ${changed} install dates to SOURCE_DATE_EPOCH ${sourceDateEpoch}` : undefined;
  },
};

const PACMAN_LOG: NormaliseItem = {
  name: 'pacman-log',
  paths: ['/var/log/pacman.log'],
  why: 'every line is dated by the clock of the build; pacman starts it again on the first transaction',
  run: (tree) => saidRemoved(removeEach(tree, ['var/log/pacman.log'])),
};

const PACMAN_CACHES: NormaliseItem = {
  name: 'pacman-sync-and-cache',
  paths: ['/var/lib/pacman/sync/*', '/var/cache/pacman/pkg/*'],
  why: 'the sync databases and packages a hook downloaded with pacman -Sy are dated, large and stale on the first boot; the directories stay',
  run: (tree) => {
    const sync = emptyDirectory(tree, 'var/lib/pacman/sync');
    const pkg = emptyDirectory(tree, 'var/cache/pacman/pkg');
    const said = [sync && `removed ${sync} sync databases`, pkg && `removed ${pkg} cached packages`].filter(Boolean);
    return said.length ? said.join(', ') : undefined;
  },
};

export const PACMAN_NORMALISATION: readonly NormaliseItem[] = [INSTALL_DATES, PACMAN_LOG, PACMAN_CACHES];
