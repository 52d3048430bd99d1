/** unpack: the skeleton overlay, then every package of the plan unpacked natively with its database entry. */
import { copyOverlay } from '../overlay.ts';
import { step } from '../step.ts';
import type { StageModule } from './types.ts';

export const unpack: StageModule<'unpack'> = {
  name: 'unpack',
  reads: { overlay: 'overlay.skeleton', settingsOf: ['resolve'], plan: true, sourceDateEpoch: true },
  async run({ job, root, installer, emit }) {
    const skeleton = job.overlays.unpack;
    if (skeleton) await step(emit, 'overlay', () => copyOverlay(root, skeleton, job.config['overlay.owner'], {}, 'overlay.skeleton'), (n) => `${n} skeleton entries`);
    await installer.unpack();
  },
};
