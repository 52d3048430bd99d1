/**
 * /etc/shadow's last-change field (days since 1970). The package scripts
 * see SOURCE_DATE_EPOCH (pwconv and useradd date their entries by it); a
 * tool that does not, in a hook, would date an entry by the build's day. A
 * day later than SOURCE_DATE_EPOCH's is set to its day; earlier ones (and
 * empty fields) are kept.
 */
import type { NormaliseItem } from './types.ts';

/** The shadow file's text with every last-change day after `day` set to `day`, and how many changed. */
export function clampShadowDays(text: string, day: number): { text: string; changed: number } {
  let changed = 0;
  const lines = text.split('\n').map((line) => {
    const fields = line.split(':');
    if (fields.length < 3 || !/^\d+$/.test(fields[2] as string) || Number(fields[2]) <= day) return line;
    fields[2] = String(day);
    changed++;
    return fields.join(':');
  });
  return { text: lines.join('\n'), changed };
}

export const SHADOW_DATES: NormaliseItem = {
  name: 'shadow-dates',
  paths: ['/etc/shadow', '/etc/shadow-'],
  why: "the last password change is SOURCE_DATE_EPOCH's day at the latest, not the day of the build",
  run: (tree, { sourceDateEpoch }) => {
    const day = Math.floor(sourceDateEpoch / 86_400);
    let changed = 0;
    for (const path of ['etc/shadow', 'etc/shadow-']) {
      const st = tree.lstat(path);
      if (!st?.isFile()) continue;
      const clamped = clampShadowDays(tree.readText(path), day);
      if (!clamped.changed) continue;
      tree.write(path, clamped.text, { mtime: Math.floor(st.mtimeMs / 1000) });
      changed += clamped.changed;
    }
    return changed ? `set ${changed} last-change dates to day ${day}` : undefined;
  },
};
