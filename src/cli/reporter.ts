/**
 * Showing progress events: on a terminal, one status line redrawn in place
 * for downloads; otherwise (CI, pipes) plain lines, one per finished step.
 */
import type { Emit, KilnEvent } from '../util/events.ts';
import { formatBytes } from '../util/size.ts';

export interface ReporterOptions {
  tty: boolean;
  debug: boolean;
  out?: NodeJS.WriteStream;
}

export function createReporter(opts: ReporterOptions): Emit {
  const out = opts.out ?? process.stderr;
  let status = '';
  let downloads = { done: 0, bytes: 0, cached: 0, active: new Map<string, number>() };
  let lastDraw = 0;
  const clear = () => {
    if (opts.tty && status) out.write('\r\x1b[K');
    status = '';
  };
  const print = (line: string) => {
    clear();
    out.write(line + '\n');
  };
  const draw = (text: string) => {
    if (!opts.tty) return;
    const now = Date.now();
    if (now - lastDraw < 80) return;
    lastDraw = now;
    const cols = out.columns || 100;
    status = text.length > cols - 1 ? text.slice(0, cols - 1) : text;
    out.write('\r\x1b[K' + status);
  };
  return (event: KilnEvent) => {
    switch (event.kind) {
      case 'step-start':
        draw(`${event.step} ...`);
        if (event.step === 'fetch') downloads = { done: 0, bytes: 0, cached: 0, active: new Map() };
        break;
      case 'step-end':
        print(`${event.step.padEnd(10)} ${(event.ms / 1000).toFixed(1).padStart(6)} s${event.detail ? `  ${event.detail}` : ''}`);
        break;
      case 'download-start':
        downloads.active.set(event.name, 0);
        break;
      case 'download-progress':
        downloads.active.set(event.name, event.done);
        draw(`fetch: ${downloads.done} done, ${formatBytes(downloads.bytes + sum(downloads.active))}, ${[...downloads.active.keys()].slice(0, 3).join(' ')}`);
        break;
      case 'download-end':
        downloads.active.delete(event.name);
        downloads.done++;
        downloads.bytes += event.bytes;
        if (event.cached) downloads.cached++;
        if (opts.debug && !opts.tty) print(`  got ${event.name} (${formatBytes(event.bytes)}${event.cached ? ', cached' : ''})`);
        draw(`fetch: ${downloads.done} done, ${formatBytes(downloads.bytes)}`);
        break;
      case 'log':
        if (event.level === 'debug' && !opts.debug) break;
        print(`${event.level === 'warn' ? 'warning: ' : ''}${event.source ? `[${event.source}] ` : ''}${event.message}`);
        break;
    }
  };
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export { formatBytes };
