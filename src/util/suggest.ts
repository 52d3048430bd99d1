/** "Did you mean" suggestions for a misspelt name (a package, a setting). */

/** Levenshtein distance, or `limit + 1` as soon as it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(substitution, previous[j]! + 1, current[j - 1]! + 1);
      rowMinimum = Math.min(rowMinimum, current[j]!);
    }
    if (rowMinimum > limit) return limit + 1;
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}

/** Up to `count` known names closest to `name`, nearest first, then alphabetical. */
export function similarNames(name: string, known: Iterable<string>, count = 3): string[] {
  const limit = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  const scored: { name: string; distance: number }[] = [];
  for (const candidate of known) {
    const distance = editDistance(name, candidate, limit);
    if (distance <= limit) scored.push({ name: candidate, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return scored.slice(0, count).map((entry) => entry.name);
}
