/**
 * Running a filesystem tool with a fixed environment: the C locale (sorted
 * names, messages), UTC (mtools writes local times), the build's
 * SOURCE_DATE_EPOCH and nothing else from the caller's environment, so that
 * two builds on different hosts or shells hand the tool the same world. A
 * failure is a CommandError (a BuildError) with the tool's last lines.
 */
import { open } from 'node:fs/promises';
import { run } from '../../util/run.ts';

/** `sourceDateEpoch` undefined: none in the environment (mksquashfs refuses it beside its own time options). */
export function runTool(command: string, args: string[], sourceDateEpoch: number | undefined, env: Record<string, string> = {}): Promise<string> {
  const epoch = sourceDateEpoch === undefined ? {} : { SOURCE_DATE_EPOCH: String(sourceDateEpoch) };
  return run(command, args, { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', TZ: 'UTC', ...epoch, ...env } });
}

/** Creates `image` as a sparse file of `size` bytes (it must not exist). */
export async function createSparseFile(image: string, size: number): Promise<void> {
  const file = await open(image, 'wx', 0o644);
  try {
    await file.truncate(size);
  } finally {
    await file.close();
  }
}
