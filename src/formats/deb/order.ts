/**
 * The order in which to run the scripts of a fresh install: every package
 * after what it Pre-Depends and Depends on (cycles broken where they close),
 * name order otherwise, so the result is stable.
 */
import { parseRelations } from './relations.ts';
import type { Stanza } from './control.ts';

export function configurationOrder(controls: Stanza[]): string[] {
  const provides = new Map<string, string[]>();
  const names = new Set<string>();
  for (const c of controls) {
    const name = c.get('Package') as string;
    names.add(name);
    for (const group of parseRelations(c.get('Provides') ?? '')) {
      for (const rel of group) provides.set(rel.name, [...(provides.get(rel.name) ?? []), name]);
    }
  }
  const deps = new Map<string, string[]>();
  for (const c of controls) {
    const name = c.get('Package') as string;
    const out: string[] = [];
    for (const field of ['Pre-Depends', 'Depends']) {
      for (const group of parseRelations(c.get(field) ?? '')) {
        for (const rel of group) {
          if (names.has(rel.name)) out.push(rel.name);
          else out.push(...(provides.get(rel.name) ?? []));
        }
      }
    }
    deps.set(name, out.filter((d) => d !== name).sort());
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    if (state.has(name)) return;
    state.set(name, 'visiting');
    for (const d of deps.get(name) ?? []) visit(d);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of [...names].sort()) visit(name);
  return order;
}
