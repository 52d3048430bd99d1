/** systemd: units enabled and disabled by the image's own systemctl, offline (--root=/). */
import type { InitSystem } from './types.ts';

export const systemd: InitSystem = {
  name: 'systemd',
  present: (tree) => tree.exists('usr/bin/systemctl') || tree.exists('bin/systemctl'),
  async apply(ctx, { enable, disable }) {
    if (enable.length) await ctx.run(['systemctl', '--root=/', 'enable', ...enable], { source: 'systemctl' });
    if (disable.length) await ctx.run(['systemctl', '--root=/', 'disable', ...disable], { source: 'systemctl' });
  },
};
