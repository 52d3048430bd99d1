/**
 * /var/log: what the packages' scripts logged during the build (fc-cache's
 * fontconfig.log, a daemon's first lines) is the build's, not the machine's.
 * Empty logs are kept as they are: packages create some on purpose with their
 * owner and mode (login's faillog, lastlog, btmp, wtmp). A log with content
 * is truncated, keeping owner and mode (a daemon may expect the file);
 * rotated copies and the journal's files (named by the build's machine id)
 * are removed.
 */
import type { NormaliseItem } from './types.ts';
import { emptyDirectory, entriesBelow } from './paths.ts';

const ROTATED = /\.(?:gz|xz|bz2|zst|old|\d+)$/;

export const LOG_FILES: NormaliseItem = {
  name: 'log-files',
  paths: ['/var/log/**'],
  why: 'the build\'s own log lines (times, the build\'s machine id) would differ between builds; empty logs that packages create on purpose (faillog, lastlog, btmp, wtmp) stay',
  run: (tree) => {
    const journal = emptyDirectory(tree, 'var/log/journal');
    let truncated = 0;
    let removed = 0;
    for (const { path, st } of entriesBelow(tree, 'var/log')) {
      if (!st.isFile() || !tree.lstat(path)) continue;
      if (ROTATED.test(path)) {
        tree.remove(path);
        removed++;
      } else if (st.size > 0) {
        tree.write(path, '', { mtime: Math.floor(st.mtimeMs / 1000) });
        truncated++;
      }
    }
    const said = [truncated && `truncated ${truncated} logs`, removed && `removed ${removed} rotated logs`, journal && `removed ${journal} journal entries`].filter(Boolean);
    return said.length ? said.join(', ') : undefined;
  },
};
