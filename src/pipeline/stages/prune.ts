/** prune: remove what prune.presets and prune.remove name. */
import { pruneStage } from '../prune.ts';
import type { StageModule } from './types.ts';

export const prune: StageModule<'prune'> = {
  name: 'prune',
  reads: {},
  run: async ({ job, root, emit }) => {
    const c = job.config;
    await pruneStage(root, c['prune.presets'], c['prune.remove'], { keepLocales: c['prune.keep-locales'] }, emit);
  },
};
