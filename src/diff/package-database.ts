/**
 * The paths of an image's package database, for inputs that are streamed
 * (tars, OCI layers): those are copied aside into a small directory laid out
 * as the root, so that the formats' own readers (their `inventory`) and the
 * owned-files readers read them as they would the image.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tree } from '../tree/index.ts';
import { isDatabasePath } from './owners.ts';

export { isDatabasePath };

/** A temporary root to copy database files into. */
export class DatabaseCopy {
  readonly root = mkdtempSync(join(tmpdir(), 'kiln-diff-db-'));

  private readonly tree = new Tree(this.root);

  /** Writes `data` at `path` under the copy, through Tree (which stays inside the root); a path that climbs out is left out. */
  add(path: string, data: Buffer): void {
    if (path.split('/').some((c) => c === '..' || c === '')) return;
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    if (parent) this.tree.mkdir(parent);
    this.tree.write(path, data);
  }

  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
