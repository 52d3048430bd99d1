/**
 * The build's log, kept while it runs: the error hooks get it as a file
 * ($KILN_BUILD_LOG). Every event still goes to the reporter as it comes.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Emit, KilnEvent } from '../util/events.ts';

const KEEP = 20_000;

export class BuildLog {
  private readonly lines: string[] = [];
  private readonly started = performance.now();

  constructor(private readonly next: Emit) {}

  readonly emit: Emit = (event: KilnEvent) => {
    const line = describe(event);
    if (line !== undefined) {
      this.lines.push(`${((performance.now() - this.started) / 1000).toFixed(1).padStart(7)}s ${line}`);
      if (this.lines.length > KEEP) this.lines.splice(0, this.lines.length - KEEP);
    }
    this.next(event);
  };

  /** Writes the log to a new file in `dir`; returns its path. */
  async save(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `build-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    await writeFile(file, this.lines.join('\n') + '\n');
    return file;
  }
}

function describe(e: KilnEvent): string | undefined {
  switch (e.kind) {
    case 'log':
      return `${e.level}${e.source ? ` [${e.source}]` : ''} ${e.message}`;
    case 'step-start':
      return `start ${e.step}`;
    case 'step-end':
      return `done ${e.step} in ${(e.ms / 1000).toFixed(1)} s${e.detail ? `: ${e.detail}` : ''}`;
    case 'download-end':
      return `${e.cached ? 'cached' : 'downloaded'} ${e.name} (${e.bytes} bytes)`;
    default:
      return undefined;
  }
}
