import { Command } from '@commander-js/extra-typings';
import { join } from 'node:path';
import { CheckpointStore } from '../pipeline/checkpoints.ts';
import { ownerAlive } from '../pipeline/owner.ts';
import { cacheDirectory } from '../pipeline/paths.ts';
import { parseSize } from '../util/size.ts';
import { formatBytes } from './reporter.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

/** `kiln cache list|prune`: the checkpoint store. */
export function cacheCommand() {
  const cache = new Command('cache').description('list or prune the stored checkpoints (and what killed builds left)');
  cache.addCommand(
    imageOptions(new Command('list').description('list the checkpoints, most recently used first'))
      .option('--json', 'print JSON for tools')
      .action((opts) => {
        const store = storeFor(opts);
        const all = store.list();
        const leftovers = store.leftovers(ownerAlive);
        if (opts.json) {
          // The checkpoints only, as before (leftovers are in the text listing).
          process.stdout.write(JSON.stringify(all.map(({ path: _path, fragments: _f, ...c }) => ({ ...c, used: new Date(c.used).toISOString() })), null, 2) + '\n');
          return;
        }
        for (const c of all) {
          process.stdout.write(`${c.key.slice(0, 12)}  ${c.stage.padEnd(9)} ${formatBytes(c.size).padStart(10)}  used ${new Date(c.used).toISOString().slice(0, 16).replace('T', ' ')}  ${c.image}\n`);
        }
        const total = all.reduce((a, c) => a + c.size, 0);
        process.stdout.write(`${all.length} checkpoints, ${formatBytes(total)} in ${store.dir}\n`);
        if (leftovers.length) {
          for (const l of leftovers) process.stdout.write(`leftover  ${formatBytes(l.size).padStart(10)}  ${l.name}\n`);
          const size = leftovers.reduce((a, l) => a + l.size, 0);
          process.stdout.write(`${leftovers.length} temporaries of killed builds, ${formatBytes(size)} (kiln cache prune or the next build removes them)\n`);
        }
      }),
  );
  cache.addCommand(
    imageOptions(new Command('prune').description('remove the temporaries of killed builds, and the least recently used checkpoints until the rest fit'))
      .option('--max-size <size>', 'what may stay, e.g. 2G, 500M (default: 0, remove all)', '0')
      .action(async (opts) => {
        const store = storeFor(opts);
        const swept = await store.sweep(ownerAlive);
        if (swept.length) process.stdout.write(`removed ${swept.length} temporaries of killed builds, ${formatBytes(swept.reduce((a, l) => a + l.size, 0))}\n`);
        const removed = await store.prune(parseSize(opts.maxSize));
        const freed = removed.reduce((a, c) => a + c.size, 0);
        process.stdout.write(`removed ${removed.length} checkpoints, ${formatBytes(freed)}; ${store.list().length} left\n`);
      }),
  );
  return cache;
}

function storeFor(opts: Parameters<typeof loadFromOptions>[0]): CheckpointStore {
  const loaded = loadFromOptions(opts);
  return new CheckpointStore(join(cacheDirectory(loaded.config), 'checkpoints'));
}
