/** prune: remove the paths prune.remove names. */
import { pruneTree } from '../prune.ts';
import type { StageModule } from './types.ts';

export const prune: StageModule<'prune'> = {
  name: 'prune',
  reads: {},
  run: async ({ job, root, emit }) => {
    await pruneTree(root, job.config['prune.remove'], emit);
  },
};
