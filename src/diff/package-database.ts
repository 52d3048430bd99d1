/**
 * The paths of an image's package database, for inputs that are streamed
 * (tars, OCI layers): those are copied aside into a small directory laid out
 * as the root, so that the formats' own readers (their `inventory`) and the
 * owned-files readers read them as they would the image.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDatabasePath } from './owners.ts';

export { isDatabasePath };

/** A temporary root to copy database files into. */
export class DatabaseCopy {
  readonly root = mkdtempSync(join(tmpdir(), 'kiln-diff-db-'));

  /** Writes `data` at `path` under the copy (the path comes from a checked listing: no `..`). */
  add(path: string, data: Buffer): void {
    if (path.split('/').some((c) => c === '..' || c === '')) return;
    const abs = join(this.root, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, data);
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
