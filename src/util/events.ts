/**
 * Progress is a stream of events; showing them is a reporter's job
 * (src/cli/reporter.ts). Library code takes an `Emit` and never prints.
 */
export type KilnEvent =
  | { kind: 'step-start'; step: string }
  | { kind: 'step-end'; step: string; ms: number; detail?: string }
  | { kind: 'download-start'; name: string; bytes?: number }
  | { kind: 'download-progress'; name: string; done: number; total?: number }
  | { kind: 'download-end'; name: string; bytes: number; cached: boolean }
  | { kind: 'log'; level: 'info' | 'warn' | 'debug'; source?: string; message: string };

export type Emit = (event: KilnEvent) => void;

/** An emitter that drops everything (for tests and library callers that do not care). */
export const silent: Emit = () => {};

/**
 * A command's output lines as debug events from `source`, keeping the last
 * `keep` of them for the error message if the command fails.
 */
export function outputLines(emit: Emit, source: string, keep = 20): { onLine(line: string): void; tail: string[] } {
  const tail: string[] = [];
  return {
    tail,
    onLine(line) {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      emit({ kind: 'log', level: 'debug', source, message: line });
    },
  };
}
