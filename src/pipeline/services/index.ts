/**
 * services.enable / services.disable: given to the init system the tree
 * has (systemd first: a tree with systemctl is a systemd tree even when
 * OpenRC's scripts are installed beside it).
 */
import type { InstallEnvironment } from '../../formats/index.ts';
import { Tree } from '../../tree/index.ts';
import { UserError } from '../../util/errors.ts';
import { openrc } from './openrc.ts';
import { systemd } from './systemd.ts';
import type { InitSystem } from './types.ts';

export type { InitSystem } from './types.ts';
export { applyRunlevels, parseService } from './openrc.ts';

export const INIT_SYSTEMS: readonly InitSystem[] = [systemd, openrc];

/** The init system the tree at `root` has, if any. */
export function initSystemOf(root: string): InitSystem | undefined {
  const tree = new Tree(root);
  return INIT_SYSTEMS.find((s) => s.present(tree));
}

export async function configureServices(ctx: InstallEnvironment): Promise<void> {
  const enable = ctx.config['services.enable'];
  const disable = ctx.config['services.disable'];
  if (!enable.length && !disable.length) return;
  const init = initSystemOf(ctx.root);
  if (!init) {
    throw new UserError(
      'services.enable / services.disable: the image has neither systemd nor OpenRC',
      'install systemd (systemctl) or OpenRC (openrc-run, /etc/init.d, /etc/runlevels) in the image (packages.install)',
    );
  }
  await init.apply(ctx, { enable, disable });
}
