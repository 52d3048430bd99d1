/**
 * The unpack pieces deb and pacman share (and apk will): the extract loop
 * and the mount points made for the scripts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractPackages } from '../../src/formats/extract-packages.ts';
import { ensureMountPoints } from '../../src/formats/mount-points.ts';
import type { InstallContext, PlannedPackage } from '../../src/formats/types.ts';
import { Tree } from '../../src/tree/index.ts';
import type { KilnEvent } from '../../src/util/events.ts';

function tempRoot(t: { after(fn: () => unknown): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-formats-shared-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

const planned = (name: string): PlannedPackage => ({ name, version: '1', architecture: 'any', size: 1, sha256: '00', urls: [], reason: 'requested', extra: undefined });

test('extractPackages: the first packages alone and in order, the rest after them; results in plan order, warnings logged', async (t) => {
  const root = tempRoot(t);
  const events: KilnEvent[] = [];
  const log: string[] = [];
  const ctx = {
    root,
    plan: { format: 'pacman', packages: ['filesystem', 'a', 'b', 'c'].map(planned), repositoryDate: 0, extra: {}, warnings: [] },
    readPackage: async (p: PlannedPackage) => Buffer.from(p.name),
    emit: (e: KilnEvent) => events.push(e),
  } as unknown as InstallContext;
  const result = await extractPackages(ctx, {
    alone: 1,
    unpack: async (data) => {
      log.push(`start ${data}`);
      await new Promise((r) => setImmediate(r));
      log.push(`end ${data}`);
      return String(data);
    },
    warnings: (name) => (name === 'b' ? ['b: something left out'] : []),
  });
  assert.deepEqual(result, ['filesystem', 'a', 'b', 'c']);
  assert.deepEqual(log.slice(0, 2), ['start filesystem', 'end filesystem'], 'filesystem is unpacked before anything else starts');
  const warnings = events.filter((e) => e.kind === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
  assert.deepEqual(warnings, ['b: something left out']);
});

test('ensureMountPoints: the missing ones, with the packages’ modes or mkdir’s; existing ones are left as they are', (t) => {
  const root = tempRoot(t);
  const tree = new Tree(root);
  tree.mkdir('run', { mode: 0o700 });
  ensureMountPoints(tree, { packageModes: true });
  const mode = (dir: string) => statSync(join(root, dir)).mode & 0o7777;
  assert.deepEqual(['proc', 'sys', 'dev', 'run', 'tmp'].map(mode), [0o555, 0o555, 0o755, 0o700, 0o1777]);

  const plain = tempRoot(t);
  ensureMountPoints(new Tree(plain), { packageModes: false });
  const umask = process.umask();
  assert.equal(statSync(join(plain, 'proc')).mode & 0o777, 0o777 & ~umask);
  assert.equal(statSync(join(plain, 'tmp')).mode & 0o7777, 0o1777);
});
