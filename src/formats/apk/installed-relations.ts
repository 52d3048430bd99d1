/**
 * Which installed packages each installed package of an Alpine tree depends
 * on, from /lib/apk/db/installed: every D: atom but a conflict (`!name`)
 * resolves to the installed package of that name, or else to the first (in
 * name order) whose p: provides meet it (`so:libc.musl-x86_64.so.1`,
 * `cmd:sh`, `/bin/sh`), with apk's version rules.
 */
import { Tree } from '../../tree/index.ts';
import { packageFromRecord, parseRecords } from './apkindex.ts';
import { dependencyGraph } from '../installed-relations.ts';
import { packageMatches, parseDependencies, parseProvide } from './deps.ts';
import { INSTALLED } from './installed-db.ts';

export function apkDependencies(root: string): Map<string, string[]> {
  const installed = parseRecords(new Tree(root).readTextIfExists(INSTALLED) ?? '').flatMap((r) => packageFromRecord(r, 'installed') ?? []);
  return dependencyGraph(installed, {
    provided: (p) => p.provides.map((text) => parseProvide(text).name),
    requirements: (p) => parseDependencies(p.depends).flatMap((wanted) => (wanted.conflict ? [] : [[wanted]])),
    satisfies: (p, wanted) => packageMatches(wanted, p),
  });
}
