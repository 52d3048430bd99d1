/**
 * One command's native twins, inside the worker: the dispatcher for the tree
 * as it is now (twin-dispatch.ts), the binds it needs under the command's
 * /run (busybox, QEMU, the twin store read-only, a log directory writable),
 * and its binfmt_misc entry for the target's ELF magic, in QEMU's place.
 * The entry has no F flag: the kernel opens the dispatcher inside the tree,
 * when a foreign program starts.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FORMATS } from '../formats/index.ts';
import type { BinfmtEntry } from '../sandbox/index.ts';
import { countExecutions, DISPATCH_BASE, dispatcher as makeDispatcher, twinTable, type ExecutionCounts, type TwinnedProgram, type TwinTable } from './twin-dispatch.ts';
import type { TwinSet } from './twin-store.ts';

export interface TwinRun {
  entry: BinfmtEntry;
  runBinds: { source: string; target: string; writable?: boolean }[];
  table: TwinTable;
  /** Reads the command's executions into `counts` and removes its files. */
  finish(counts: ExecutionCounts): Promise<void>;
}

let runs = 0;

/**
 * `qemu`: the ELF entry QEMU would have had (its magic, mask and interpreter on the host).
 * `standIns`: foreign programs a native command runs in a twin's place (the tree's perl, by the host perl).
 */
export async function prepareTwinRun(root: string, twins: TwinSet, qemu: BinfmtEntry, workDir: string, standIns: readonly TwinnedProgram[] = []): Promise<TwinRun> {
  const format = FORMATS[twins.format].twins;
  if (!format) throw new Error(`twins for a ${twins.format} tree, whose format has none`);
  const table = twinTable(root, twins, format);
  table.programs.push(...standIns);
  const dir = join(workDir, 'twins', String(++runs));
  await mkdir(join(dir, 'log'), { recursive: true });
  const dispatcher = join(dir, 'dispatch');
  const made = makeDispatcher(table, twins, DISPATCH_BASE, `${DISPATCH_BASE}/busybox sh`, format.tree.scriptPackageVariable);
  await writeFile(dispatcher, made.script, { mode: 0o755 });
  await mkdir(join(dir, 'names'));
  for (const [name, lines] of made.byName) await writeFile(join(dir, 'names', name), lines);
  await writeFile(join(dir, 'log', 'execs'), '');
  const inside = DISPATCH_BASE.replace(/^\/run\//, '');
  return {
    // A name of its own per command: commands running side by side each register only theirs.
    entry: { name: `kiln-twins-${runs}`, magic: qemu.magic, mask: qemu.mask, interpreter: `${DISPATCH_BASE}/dispatch` },
    runBinds: [
      { source: dispatcher, target: `${inside}/dispatch` },
      { source: twins.busybox, target: `${inside}/busybox` },
      { source: qemu.interpreter, target: `${inside}/qemu` },
      { source: twins.storeDir, target: `${inside}/twins` },
      { source: join(dir, 'names'), target: `${inside}/names` },
      { source: join(dir, 'log'), target: `${inside}/log`, writable: true },
    ],
    table,
    async finish(counts) {
      countExecutions(await readFile(join(dir, 'log', 'execs'), 'utf8').catch(() => ''), counts);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The build log's line for a command's executions, and (for --debug) its programs of each kind, most frequent first. */
export function describeCounts(counts: ExecutionCounts, top = Infinity): { summary: string; detail: string } {
  const sorted = [...counts.byPath].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const list = (kind: string) =>
    sorted
      .filter(([k]) => k.startsWith(`${kind} `))
      .slice(0, top)
      .map(([k, n]) => `${k.slice(2)} ${n}`)
      .join(', ');
  return {
    summary: `native twins: ${counts.native} executions ran natively, ${counts.emulated} emulated`,
    detail: `natively: ${list('n') || 'none'}; emulated: ${list('e') || 'none'}`,
  };
}
