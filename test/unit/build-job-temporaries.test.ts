/**
 * The build job keeps no set of temporaries of its own: the worker passes
 * one in, the job adds its work tree to it (so a stopped build removes it)
 * and takes it out again once it removed the tree itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { runBuildJob } from '../../src/pipeline/inside-build.ts';
import type { BuildJob } from '../../src/pipeline/job.ts';
import { UserError } from '../../src/util/errors.ts';

function job(prune: string): BuildJob {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-job-'));
  writeFileSync(join(dir, 'kiln.toml'), '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "http://127.0.0.1:9/debian"\n[build]\nworkspace = "disk"\n');
  const { config } = loadConfig({ dir, env: {}, sets: [`prune.remove=${prune}`] });
  return {
    kind: 'build',
    config,
    plan: { format: 'deb', packages: [], repositoryDate: 1_700_000_000, extra: { mirror: 'http://127.0.0.1:9/debian', release: 'bookworm', components: ['main'], architecture: 'amd64', mergedUsrLinks: [] }, warnings: [] },
    blobs: {},
    outputDir: join(dir, 'out'),
    workDir: join(dir, 'work'),
    cacheDir: join(dir, 'cache'),
    downloadDir: join(dir, 'cache/downloads'),
    sourceDateEpoch: 1_700_000_000,
    machine: 'x86_64',
    debug: false,
    imageDir: dir,
    kilnVersion: '0.0.0-test',
    stages: [{ name: 'prune', key: 'a'.repeat(64), checkpoint: false }],
    hooks: [],
    overlays: {},
    checkpointDir: join(dir, 'cache/checkpoints'),
    checkpointOwner: 'test',
    manifest: { outputKey: 'b'.repeat(64), config: {}, image: { name: 'image', distribution: 'debian', release: 'bookworm', architecture: 'amd64', board: null, profiles: [] }, supplier: 'Debian', sourceDateEpochFrom: 'release (default)', mirrors: ['http://127.0.0.1:9/debian'] },
  };
}

test('a failed job leaves its work tree in the set of temporaries it was given', async () => {
  const failing = job('../outside');
  const temporaries = new Set<string>();
  await assert.rejects(runBuildJob(failing, () => {}, temporaries), UserError);
  assert.deepEqual([...temporaries], [failing.workDir]);
  assert.ok(existsSync(join(failing.workDir, 'root')), 'the tree is there for the worker to remove');
});

test('a finished job removes its work tree and takes it out of the set', async () => {
  const done = { ...job('/nothing-here'), stages: [] };
  const temporaries = new Set<string>(['/elsewhere']);
  await runBuildJob(done, () => {}, temporaries);
  assert.deepEqual([...temporaries], ['/elsewhere']);
  assert.equal(existsSync(done.workDir), false);
});
