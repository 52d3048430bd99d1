/**
 * `kiln shell` inside the namespace: the built tree, or a tar or a
 * checkpoint unpacked on a throw-away tmpfs (the checkpoint itself is only
 * read), interactively. With `save`, what the command changed in the copy
 * is written as an overlay layer when it exits 0.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runInRoot } from '../sandbox/index.ts';
import { run } from '../util/run.ts';
import { CheckpointStore, treeState } from './checkpoints.ts';
import type { ShellJob } from './job.ts';
import { mountTmpfs, withEmulation } from './inside-build.ts';
import { writeShellLayer } from './shell-layer.ts';

export async function runShellJob(job: ShellJob): Promise<number> {
  let root: string;
  if ('directory' in job.tree) {
    root = job.tree.directory;
  } else {
    await mountTmpfs(job.workDir);
    root = join(job.workDir, 'root');
    await mkdir(root);
    if ('tar' in job.tree) await run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', job.tree.tar, '-C', root]);
    else await new CheckpointStore(job.tree.checkpoint.dir, job.tree.checkpoint.owner).restore(job.tree.checkpoint.key, root);
  }
  const before = job.save ? treeState(root) : undefined;
  const status = await withEmulation(root, job.emulation, undefined, (emulation) => runInRoot({ root, argv: job.argv, interactive: true, network: job.network, processLimit: job.processLimit, ...emulation }));
  if (job.save && before) {
    if (status !== 0) process.stderr.write(`kiln: the shell exited with status ${status}: nothing saved\n`);
    else await writeShellLayer(root, before, treeState(root), job.save.path, job.save.sourceDateEpoch);
  }
  return status;
}
