/** What the formats' readings of installed relations (FORMAT/installed-relations.ts) share. */

/**
 * The packages that may satisfy a requirement of a name: the package of that
 * name first, then those that provide the name, each in the order of
 * `installed` (sorted by name, so that the graph is the same on every machine).
 */
export function candidatesByName<P extends { name: string }>(installed: readonly P[], provided: (p: P) => string[]): (name: string) => readonly P[] {
  const named = new Map<string, P[]>();
  const providers = new Map<string, P[]>();
  const add = (map: Map<string, P[]>, name: string, p: P) => {
    const list = map.get(name);
    if (!list) map.set(name, [p]);
    else if (!list.includes(p)) list.push(p);
  };
  for (const p of installed) {
    add(named, p.name, p);
    for (const name of provided(p)) add(providers, name, p);
  }
  return (name) => [...(named.get(name) ?? []), ...(providers.get(name) ?? [])];
}
