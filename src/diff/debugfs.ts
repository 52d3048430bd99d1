/**
 * e2fsprogs' debugfs as a reader of an ext2/3/4 image, read-only and never
 * mounted: one process runs a whole batch of commands (given on its stdin)
 * and echoes each as `debugfs: COMMAND` before its output, which is how the
 * output is split again. `cat` output is exactly the file's bytes, so a
 * batch of them is split by the sizes the listing already knows and hashed
 * as it streams past, never held. An image inside a disk is opened at its
 * byte offset (`IMAGE?offset=N`, e2fsprogs' own I/O option).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BuildError } from '../util/errors.ts';

/** `image` or `image?offset=N`: what debugfs opens. */
export const debugfsSource = (image: string, offset = 0) => (offset ? `${image}?offset=${offset}` : image);

function run(source: string, commands: string[], onStdout: (stdout: Readable) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    // -c: catastrophic mode, bitmaps not read (faster, and enough for reading).
    const child = spawn('debugfs', ['-c', '-f', '-', source], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DEBUGFS_PAGER: '__none__', PAGER: '__none__' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    child.once('error', (err) => reject(new BuildError(`cannot run debugfs: ${err.message}`, "install e2fsprogs", { cause: err })));
    const reading = onStdout(child.stdout);
    child.stdin.on('error', () => {});
    child.stdin.end(commands.map((c) => `${c}\n`).join(''));
    child.once('close', (code) => {
      reading.then(
        () => (code === 0 ? resolve() : reject(new BuildError(`debugfs ${source} failed (exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' ')}`))),
        reject,
      );
    });
  });
}

/** Runs text commands (ls -p, stat); returns each command's output, in order. */
export async function debugfsText(source: string, commands: string[]): Promise<string[]> {
  if (!commands.length) return [];
  const chunks: Buffer[] = [];
  await run(source, commands, async (stdout) => {
    for await (const c of stdout) chunks.push(c as Buffer);
  });
  const text = Buffer.concat(chunks).toString('utf8');
  const parts = text.split(/^debugfs: .*\n/m);
  const out = parts.slice(1);
  if (out.length !== commands.length) throw new BuildError(`debugfs ${source}: ${commands.length} commands gave ${out.length} answers`);
  return out;
}

/** Runs `cat <INODE>` for each inode and hands each file's bytes, piece by piece, to `each` (sizes as the listing has them). */
export async function debugfsCat(source: string, files: { inode: number; size: number }[], each: (index: number, piece: Buffer | undefined) => void): Promise<void> {
  if (!files.length) return;
  await run(source, files.map((f) => `cat <${f.inode}>`), async (stdout) => {
    let pending: Buffer = Buffer.alloc(0);
    let index = 0;
    let left = -1; // -1: waiting for the echo line
    const start = () => {
      while (index < files.length) {
        if (left < 0) {
          const nl = pending.indexOf(10);
          if (nl < 0) return;
          pending = pending.subarray(nl + 1);
          left = files[index]!.size;
        }
        const take = Math.min(left, pending.length);
        if (take > 0) each(index, pending.subarray(0, take));
        pending = pending.subarray(take);
        left -= take;
        if (left > 0) return;
        each(index, undefined);
        index++;
        left = -1;
      }
    };
    for await (const chunk of stdout) {
      pending = pending.length ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
      start();
    }
    if (index < files.length) throw new BuildError(`debugfs ${source}: the contents of ${files.length - index} files were cut short`);
  });
}
