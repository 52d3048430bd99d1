/**
 * Sharing free space among the partitions that grow, as systemd-repart
 * shares it: by weight, in whole alignment units, each partition never
 * above its maximum; what a capped partition cannot take goes to the
 * others. The share itself is pure arithmetic on unit counts.
 */

export interface Grower {
  weight: number;
  /** Units it may take at most (Infinity: no maximum). */
  cap: number;
}

/** Units for each grower (same order) out of `units`, by weight, capped, the rounding remainder to the largest fractions. */
export function shareUnits(units: number, growers: readonly Grower[]): number[] {
  const given = growers.map(() => 0);
  let remaining = units;
  let active = growers.map((_, i) => i).filter((i) => growers[i]!.weight > 0 && growers[i]!.cap > 0);
  while (remaining > 0 && active.length) {
    const total = active.reduce((sum, i) => sum + BigInt(growers[i]!.weight), 0n);
    const exact = active.map((i) => (BigInt(remaining) * BigInt(growers[i]!.weight)) / total);
    // A grower whose fair share reaches its cap takes the cap; the rest is shared again among the others.
    const capped = active.filter((i, k) => Number(exact[k]!) >= growers[i]!.cap - given[i]!);
    if (capped.length) {
      for (const i of capped) {
        const take = Math.min(growers[i]!.cap - given[i]!, remaining);
        given[i]! += take;
        remaining -= take;
      }
      active = active.filter((i) => !capped.includes(i));
      continue;
    }
    const shares = exact.map(Number);
    let left = remaining - shares.reduce((a, b) => a + b, 0);
    const byFraction = active
      .map((i, k) => ({ k, fraction: (BigInt(remaining) * BigInt(growers[i]!.weight)) % total }))
      .sort((a, b) => (a.fraction === b.fraction ? a.k - b.k : a.fraction > b.fraction ? -1 : 1));
    for (const { k } of byFraction) {
      if (left <= 0) break;
      shares[k]! += 1;
      left -= 1;
    }
    active.forEach((i, k) => (given[i]! += shares[k]!));
    remaining = 0;
  }
  return given;
}
