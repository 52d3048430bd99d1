/** A named step of the build: emits start/end events with its duration. */
import type { Emit } from '../util/events.ts';

export async function step<T>(emit: Emit, name: string, fn: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
  const started = performance.now();
  emit({ kind: 'step-start', step: name });
  const result = await fn();
  emit({ kind: 'step-end', step: name, ms: performance.now() - started, detail: detail?.(result) });
  return result;
}
