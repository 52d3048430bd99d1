/** `kiln shell` inside the namespace: the built tree (or a tar unpacked on a tmpfs), interactively. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runInRoot } from '../sandbox/index.ts';
import { run } from '../util/run.ts';
import type { ShellJob } from './job.ts';
import { mountTmpfs, withEmulation } from './inside-build.ts';

export async function runShellJob(job: ShellJob): Promise<number> {
  let root: string;
  if ('directory' in job.tree) {
    root = job.tree.directory;
  } else {
    await mountTmpfs(job.workDir);
    root = join(job.workDir, 'root');
    await mkdir(root);
    await run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', job.tree.tar, '-C', root]);
  }
  return withEmulation(root, job.emulation, undefined, (emulation) => runInRoot({ root, argv: job.argv, interactive: true, network: job.network, processLimit: job.processLimit, ...emulation }));
}
