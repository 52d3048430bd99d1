/**
 * Which installed packages each installed package of an Arch-family tree
 * depends on, from pacman's local database: every %DEPENDS% entry resolves
 * to the installed package of that name, or else to the first (in name
 * order) whose %PROVIDES% satisfy it, with libalpm's matching rules.
 */
import { Tree } from '../../tree/index.ts';
import { parseDesc } from './db.ts';
import { LOCAL_DB } from './localdb.ts';
import { dependencyGraph } from '../installed-relations.ts';
import type { PacmanRelation } from './types.ts';
import { packageSatisfies, parseRelation, type Satisfier } from './version.ts';

export function pacmanDependencies(root: string): Map<string, string[]> {
  const tree = new Tree(root);
  const installed: (Satisfier & { depends: PacmanRelation[] })[] = [];
  for (const entry of tree.readdir(LOCAL_DB)) {
    if (!tree.lstat(`${LOCAL_DB}/${entry}`)?.isDirectory()) continue;
    const desc = parseDesc(tree.readText(`${LOCAL_DB}/${entry}/desc`));
    const name = desc.get('NAME')?.[0];
    const version = desc.get('VERSION')?.[0];
    if (!name || !version) continue;
    installed.push({ name, version, provides: (desc.get('PROVIDES') ?? []).map(parseRelation), depends: (desc.get('DEPENDS') ?? []).map(parseRelation) });
  }
  return dependencyGraph(installed, { provided: (p) => p.provides.map((r) => r.name), requirements: (p) => p.depends.map((r) => [r]), satisfies: packageSatisfies });
}
