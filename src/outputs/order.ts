/**
 * The order writers run in, from what they declare: each after the outputs
 * it is made from (a topological order), a writer that takes the tree after
 * every writer not made from it, and otherwise in the order asked.
 */
import { OUTPUTS, type OutputFormat } from './registry.ts';
import type { OutputRegistry } from './writer.ts';

/**
 * The formats to write, in order: those asked for and the ones they are made
 * from (an output made only to make another one is written too).
 */
export function writerOrder(formats: readonly OutputFormat[]): OutputFormat[];
export function writerOrder<F extends string>(formats: readonly F[], registry: OutputRegistry<F>): F[];
export function writerOrder(formats: readonly string[], registry: OutputRegistry = OUTPUTS): string[] {
  const closure = withSources(formats, registry);
  const takers = closure.filter((f) => registry[f]!.takesTree);
  if (takers.length > 1) throw new Error(`outputs ${takers.join(' and ')} both take the tree away`);
  // The edges: each source before what is made from it; everything not made from the taker before it.
  const before = new Map<string, Set<string>>(closure.map((f) => [f, new Set(registry[f]!.from)]));
  for (const taker of takers) {
    const madeFromTaker = dependents(taker, closure, registry);
    for (const f of closure) if (f !== taker && !madeFromTaker.has(f)) before.get(taker)!.add(f);
  }
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < closure.length) {
    // The first, in the order asked, whose sources are all placed (the closure has no cycles).
    const next = closure.find((f) => !placed.has(f) && [...before.get(f)!].every((b) => placed.has(b)));
    if (next === undefined) throw new Error(`outputs ${closure.filter((f) => !placed.has(f)).join(', ')} cannot be ordered`);
    order.push(next);
    placed.add(next);
  }
  return order;
}

/** The formats asked for and, before each, those it is made from (transitively); a cycle or an unknown source is a registry bug. */
function withSources<F extends string>(formats: readonly F[], registry: OutputRegistry<F>): F[] {
  const out: F[] = [];
  const visiting: F[] = [];
  const visit = (f: F, wanted: string) => {
    if (!Object.hasOwn(registry, f)) throw new Error(wanted === f ? `no writer for output ${f}` : `output ${wanted} is made from ${f}, which no writer makes`);
    if (out.includes(f)) return;
    if (visiting.includes(f)) throw new Error(`outputs are made from each other: ${[...visiting, f].join(' -> ')}`);
    visiting.push(f);
    for (const source of registry[f].from) visit(source, f);
    visiting.pop();
    out.push(f);
  };
  for (const f of formats) visit(f, f);
  return out;
}

/** Every format in `closure` made, directly or not, from `source`. */
function dependents<F extends string>(source: F, closure: readonly F[], registry: OutputRegistry<F>): Set<F> {
  const found = new Set<F>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const f of closure) {
      if (found.has(f) || !registry[f].from.some((s) => s === source || found.has(s))) continue;
      found.add(f);
      grew = true;
    }
  }
  return found;
}
