/** A throw-away tree for the boot unit tests: files from small literals, removed by `done`. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tree } from '../../src/tree/index.ts';

export function bootTree(files: Record<string, string>): { root: string; tree: Tree; done: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'kiln-boot-unit-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return { root, tree: new Tree(root), done: () => rmSync(root, { recursive: true, force: true }) };
}
