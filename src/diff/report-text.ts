/** The diff report for a person at a terminal, and as JSON for tools. */
import type { Aspect, PathChange } from './compare.ts';
import type { DiffReport } from './diff-images.ts';
import type { PackageGroup } from './group.ts';
import type { DiffEntry } from './types.ts';

const short = (digest: string | undefined) => (digest ? digest.slice(0, 12) : '-');
const iso = (t: number) => new Date(t * 1000).toISOString().replace('.000Z', 'Z');
const octal = (m: number) => m.toString(8).padStart(4, '0');

/** One entry in a few words: type, size and digest for a file, target for a symlink. */
export function describeEntry(e: DiffEntry): string {
  if (e.type === 'file') return `file ${e.size} B sha256 ${short(e.sha256)}`;
  if (e.type === 'symlink') return `symlink -> ${e.target}`;
  if (e.type === 'char' || e.type === 'block') return `${e.type} device ${e.device}`;
  return e.type;
}

const ASPECT_TEXT: Record<Aspect, (a: DiffEntry, b: DiffEntry) => string> = {
  type: (a, b) => `type ${describeEntry(a)} -> ${describeEntry(b)}`,
  content: (a, b) => `content ${a.size} B sha256 ${short(a.sha256)} -> ${b.size} B sha256 ${short(b.sha256)}`,
  target: (a, b) => `target ${a.target} -> ${b.target}`,
  owner: (a, b) => `owner ${a.uid}:${a.gid} -> ${b.uid}:${b.gid}`,
  mode: (a, b) => `mode ${octal(a.mode)} -> ${octal(b.mode)}`,
  time: (a, b) => `time ${iso(a.mtime)} -> ${iso(b.mtime)}`,
  xattrs: (a, b) => `xattrs ${a.xattrs.split('\n').filter(Boolean).length} -> ${b.xattrs.split('\n').filter(Boolean).length}`,
  device: (a, b) => `device ${a.device} -> ${b.device}`,
};

/** One change in one line (without its text diff). */
export function describeChange(c: PathChange): string {
  if (c.kind === 'added') return `+ /${c.path}  ${describeEntry(c.b as DiffEntry)}`;
  if (c.kind === 'removed') return `- /${c.path}  ${describeEntry(c.a as DiffEntry)}`;
  return `~ /${c.path}  ${c.aspects.map((x) => ASPECT_TEXT[x](c.a as DiffEntry, c.b as DiffEntry)).join('; ')}`;
}

/** The heading of a package group. */
export function groupTitle(g: PackageGroup): string {
  if (g.name === null) return 'owned by no package';
  const how = g.status === 'added' ? `added, ${g.versionB}` : g.status === 'removed' ? `removed, was ${g.versionA}` : g.status === 'upgraded' ? `${g.versionA} -> ${g.versionB}` : `${g.versionB ?? g.versionA}`;
  return `package ${g.name} (${how})`;
}

export function formatTextReport(r: DiffReport): string {
  if (r.identical) return `identical: ${r.a} and ${r.b} (${r.entries.a} paths)\n`;
  const paths = r.groups.reduce((n, g) => n + g.changes.length, 0);
  const lines = [`${r.a} and ${r.b} differ: ${paths} paths in ${r.groups.filter((g) => g.name !== null).length} packages${r.groups.some((g) => g.name === null) ? ' and paths no package owns' : ''}`];
  if (r.header.removed.length || r.header.added.length) {
    lines.push('', 'partition table:', ...r.header.removed.map((l) => `  - ${l}`), ...r.header.added.map((l) => `  + ${l}`));
  }
  for (const g of r.groups) {
    lines.push('', `${groupTitle(g)}: ${g.changes.length} paths`);
    for (const c of g.changes) {
      lines.push(`  ${describeChange(c)}`);
      const text = r.textDiffs.get(c.path);
      if (text) lines.push(...text.trimEnd().split('\n').map((l) => `    ${l}`));
    }
  }
  return lines.join('\n') + '\n';
}

/** The report as plain data (for `--json`). */
export function reportJson(r: DiffReport): unknown {
  const entry = (e: DiffEntry | undefined) => {
    if (!e) return undefined;
    const unread = new Set(e.unread ?? []);
    const { unread: _, ...rest } = e;
    const owner = unread.has('owner') ? { uid: null, gid: null } : {};
    return { ...rest, ...owner, mode: unread.has('mode') ? null : octal(e.mode), mtime: unread.has('time') ? null : e.mtime, xattrs: unread.has('xattrs') ? null : e.xattrs ? e.xattrs.split('\n') : [] };
  };
  return {
    a: r.a,
    b: r.b,
    identical: r.identical,
    entries: r.entries,
    header: r.header,
    packages: r.groups.map((g) => ({
      name: g.name,
      status: g.status,
      versionA: g.versionA ?? null,
      versionB: g.versionB ?? null,
      changes: g.changes.map((c) => ({ path: c.path, kind: c.kind, aspects: c.aspects, a: entry(c.a) ?? null, b: entry(c.b) ?? null, diff: r.textDiffs.get(c.path) ?? null })),
    })),
  };
}
