/**
 * Which installed packages each installed package of a Debian tree depends
 * on, from dpkg's status file: every Depends and Pre-Depends group resolves
 * to its first alternative that an installed package satisfies, by its own
 * name and version, or else through a Provides (a versioned requirement
 * only through a provision written with `=`, as dpkg has it). A group no
 * installed package satisfies adds nothing (dpkg would not have configured
 * the package; the graph says only what is there).
 */
import { Tree } from '../../tree/index.ts';
import { dependencyGraph } from '../installed-relations.ts';
import { field, parseStanzas } from './control.ts';
import { parseRelations, type Relation } from './relations.ts';
import { satisfiesVersion } from './version.ts';

interface Installed {
  name: string;
  version: string;
  depends: Relation[][];
  provides: Relation[];
}

/** Whether `pkg` satisfies `wanted`, by its name or one of its provisions. */
function satisfies(pkg: Installed, wanted: Relation): boolean {
  if (pkg.name === wanted.name && (wanted.op === undefined || satisfiesVersion(pkg.version, wanted.op, wanted.version as string))) return true;
  return pkg.provides.some((p) => p.name === wanted.name && (wanted.op === undefined || (p.op === '=' && satisfiesVersion(p.version as string, wanted.op, wanted.version as string))));
}

export function debDependencies(root: string): Map<string, string[]> {
  const installed: Installed[] = [];
  for (const stanza of parseStanzas(new Tree(root).readText('var/lib/dpkg/status'))) {
    if (!/\binstalled$/.test(field(stanza, 'Status') ?? '')) continue;
    const relations = (name: string) => parseRelations(field(stanza, name) ?? '');
    installed.push({
      name: field(stanza, 'Package') as string,
      version: field(stanza, 'Version') as string,
      depends: [...relations('Pre-Depends'), ...relations('Depends')],
      provides: relations('Provides').flat(),
    });
  }
  return dependencyGraph(installed, { provided: (p) => p.provides.map((r) => r.name), requirements: (p) => p.depends, satisfies });
}
