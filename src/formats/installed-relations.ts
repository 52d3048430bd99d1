/** What the formats' readings of installed relations (FORMAT/installed-relations.ts) share: the graph from parsed requirements. */

/**
 * Each installed package's name with the names of the installed packages
 * its requirements resolve to, sorted. A requirement is a list of
 * alternatives (one, for pacman and apk); it resolves to its first
 * alternative that some package satisfies, the package of that name tried
 * first, then those that provide the name, in name order (so that the
 * graph is the same on every machine). An unsatisfied requirement and a
 * package's requirement on itself add nothing.
 */
export function dependencyGraph<P extends { name: string }, R extends { name: string }>(
  packages: readonly P[],
  format: { provided: (p: P) => string[]; requirements: (p: P) => R[][]; satisfies: (p: P, wanted: R) => boolean },
): Map<string, string[]> {
  const installed = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const named = new Map<string, P[]>();
  const providers = new Map<string, P[]>();
  const add = (map: Map<string, P[]>, name: string, p: P) => {
    const list = map.get(name);
    if (!list) map.set(name, [p]);
    else if (!list.includes(p)) list.push(p);
  };
  for (const p of installed) {
    add(named, p.name, p);
    for (const name of format.provided(p)) add(providers, name, p);
  }
  const graph = new Map<string, string[]>();
  for (const pkg of installed) {
    const on = new Set<string>();
    for (const alternatives of format.requirements(pkg)) {
      for (const wanted of alternatives) {
        const by = [...(named.get(wanted.name) ?? []), ...(providers.get(wanted.name) ?? [])].find((p) => format.satisfies(p, wanted));
        if (!by) continue;
        if (by.name !== pkg.name) on.add(by.name);
        break;
      }
    }
    graph.set(pkg.name, [...on].sort());
  }
  return graph;
}
