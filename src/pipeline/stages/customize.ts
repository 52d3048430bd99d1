/** customize: users and groups, the extra overlay, then the system settings and services. */
import { copyOverlay } from '../overlay.ts';
import { step } from '../step.ts';
import { configureServices } from '../services/index.ts';
import { configureSystem } from '../system.ts';
import { applyUsers } from '../users.ts';
import type { StageModule } from './types.ts';

export const customize: StageModule<'customize'> = {
  name: 'customize',
  reads: { overlay: 'overlay.extra' },
  async run({ job, root, install, emit }) {
    const { config } = job;
    // Users first: the overlay's owners may name them.
    const chpasswd = (input: string) => install.run(['chpasswd'], { input, source: 'chpasswd' });
    await applyUsers({ root, sourceDateEpoch: job.sourceDateEpoch, chpasswd }, config['users.accounts'], config['users.groups']);
    const extra = job.overlays.customize;
    if (extra) await step(emit, 'overlay', () => copyOverlay(root, extra, config['overlay.owner'], config['overlay.owners'], 'overlay.extra'), (n) => `${n} entries`);
    await configureSystem(install);
    await configureServices(install);
  },
};
