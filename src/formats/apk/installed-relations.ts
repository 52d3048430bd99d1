/**
 * Which installed packages each installed package of an Alpine tree depends
 * on, from /lib/apk/db/installed: every D: atom but a conflict (`!name`)
 * resolves to the installed package of that name, or else to the first (in
 * name order) whose p: provides meet it (`so:libc.musl-x86_64.so.1`,
 * `cmd:sh`, `/bin/sh`), with apk's version rules.
 */
import { Tree } from '../../tree/index.ts';
import { packageFromRecord, parseRecords } from './apkindex.ts';
import { candidatesByName } from '../installed-relations.ts';
import { packageMatches, parseDependencies, parseProvide } from './deps.ts';
import { INSTALLED } from './installed-db.ts';

export function apkDependencies(root: string): Map<string, string[]> {
  const installed = parseRecords(new Tree(root).readTextIfExists(INSTALLED) ?? '')
    .flatMap((r) => packageFromRecord(r, 'installed') ?? [])
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const candidates = candidatesByName(installed, (p) => p.provides.map((text) => parseProvide(text).name));
  const graph = new Map<string, string[]>();
  for (const pkg of installed) {
    const on = new Set<string>();
    for (const wanted of parseDependencies(pkg.depends)) {
      if (wanted.conflict) continue;
      const by = candidates(wanted.name).find((p) => packageMatches(wanted, p));
      if (by && by.name !== pkg.name) on.add(by.name);
    }
    graph.set(pkg.name, [...on].sort());
  }
  return graph;
}
