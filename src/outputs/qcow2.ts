/**
 * The qcow2 output: the raw disk converted by qemu-img. qcow2 carries no
 * time or random field, so the same disk gives the same bytes; the default
 * cluster size is named anyway so that a qemu-img with another default
 * cannot change them.
 */
import { run } from '../util/run.ts';
import { QEMU_IMG } from './host-tools.ts';
import type { OutputWriter } from './writer.ts';

export const qcow2Writer: OutputWriter<'partitions' | 'disk'> = {
  fileName: (name) => `${name}.qcow2`,
  tools: [QEMU_IMG],
  from: ['disk'],
  takesTree: false,
  write: async ({ tmp, made }) => {
    await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=65536', made.disk!, tmp]);
  },
};
