/** customize: users and groups, the extra overlay, then the system settings and services. */
import { resolve } from 'node:path';
import { copyOverlay } from '../overlay.ts';
import { applyLayer } from '../overlay-layers.ts';
import { step } from '../step.ts';
import { configureServices } from '../services/index.ts';
import { configureSystem } from '../system.ts';
import { applyUsers } from '../users.ts';
import type { StageModule } from './types.ts';

export const customize: StageModule<'customize'> = {
  name: 'customize',
  reads: { overlay: 'overlay.extra', layers: 'overlay.layers' },
  async run({ job, root, install, emit }) {
    const { config } = job;
    // Users first: the overlay's owners may name them.
    const chpasswd = (input: string) => install.run(['chpasswd'], { input, source: 'chpasswd' });
    await applyUsers({ root, sourceDateEpoch: job.sourceDateEpoch, chpasswd }, config['users.accounts'], config['users.groups']);
    const extra = job.overlays.customize;
    if (extra) await step(emit, 'overlay', () => copyOverlay(root, extra, config['overlay.owner'], config['overlay.owners'], 'overlay.extra'), (n) => `${n} entries`);
    await configureSystem(install);
    await configureServices(install);
    // Last: a layer saved from `kiln shell` holds the fix-ups made on top of everything above.
    for (const layer of config['overlay.layers']) {
      await step(emit, 'layer', () => applyLayer(root, resolve(job.imageDir, layer)), (r) => `${layer}: ${r.written} entries, ${r.removed.length + r.emptied.length} removals`);
    }
  },
};
