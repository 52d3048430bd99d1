/**
 * OpenRC: runlevel links written natively, as `rc-update add SERVICE LEVEL`
 * makes them. librc's rc_service_add() links /etc/runlevels/LEVEL/SERVICE
 * to the service's script by its absolute path, /etc/init.d/SERVICE (the
 * link is read in the running system, so an absolute target is right), and
 * refuses a runlevel whose directory does not exist. A service is written
 * `NAME` (the `default` runlevel) or `NAME@LEVEL` (`boot`, `sysinit`,
 * `shutdown`, or any runlevel the tree has). Disabling `NAME@LEVEL` removes
 * that link (`rc-update del NAME LEVEL`); a plain `NAME` is removed from
 * every runlevel (`rc-update del -a NAME`'s effect on the runlevels).
 * Only /etc/init.d is looked in (not /usr/local/etc/init.d).
 */
import { Tree } from '../../tree/index.ts';
import { UserError } from '../../util/errors.ts';
import type { Emit } from '../../util/events.ts';
import type { InitSystem } from './types.ts';

const INIT_DIR = 'etc/init.d';
const RUNLEVELS = 'etc/runlevels';
export const DEFAULT_RUNLEVEL = 'default';

export const openrc: InitSystem = {
  name: 'OpenRC',
  present: (tree) =>
    (tree.exists('sbin/openrc-run') || tree.exists('usr/sbin/openrc-run') || tree.exists('sbin/openrc') || tree.exists('usr/sbin/openrc')) &&
    tree.isDirectory(INIT_DIR) &&
    tree.isDirectory(RUNLEVELS),
  async apply(ctx, services) {
    applyRunlevels(ctx.root, services, ctx.emit);
  },
};

/** A service and its runlevel, from `NAME` or `NAME@LEVEL`. */
export function parseService(spec: string, setting: string): { name: string; level?: string } {
  const at = spec.lastIndexOf('@');
  const name = at < 0 ? spec : spec.slice(0, at);
  const level = at < 0 ? undefined : spec.slice(at + 1);
  const bad = (s: string) => s === '' || s === '.' || s === '..' || s.includes('/');
  if (bad(name) || (level !== undefined && bad(level))) {
    throw new UserError(`${setting}: "${spec}" is not an OpenRC service`, 'write NAME (the default runlevel) or NAME@RUNLEVEL, e.g. sshd or networking@boot');
  }
  return { name, level };
}

/** The links rc-update add / del would leave, made natively in the tree. */
export function applyRunlevels(root: string, services: { enable: readonly string[]; disable: readonly string[] }, emit: Emit): void {
  const tree = new Tree(root);
  const levels = tree.readdir(RUNLEVELS).filter((l) => tree.lstat(`${RUNLEVELS}/${l}`)?.isDirectory());
  const checkLevel = (spec: string, level: string, setting: string) => {
    if (!levels.includes(level)) {
      throw new UserError(`${setting}: "${spec}": the image has no OpenRC runlevel "${level}" (/etc/runlevels/${level})`, `use one of ${levels.join(', ') || '(none)'}`);
    }
  };
  for (const spec of services.enable) {
    const { name, level = DEFAULT_RUNLEVEL } = parseService(spec, 'services.enable');
    if (!tree.lstat(`${INIT_DIR}/${name}`)?.isFile()) {
      throw new UserError(`services.enable: the image has no OpenRC service "${name}" (no /etc/init.d/${name})`, 'install the package that provides it, or check the name');
    }
    checkLevel(spec, level, 'services.enable');
    const link = `${RUNLEVELS}/${level}/${name}`;
    if (tree.exists(link)) continue; // rc-update: "already installed in runlevel", nothing changes
    tree.symlink(`/${INIT_DIR}/${name}`, link);
    emit({ kind: 'log', level: 'info', source: 'openrc', message: `${name} added to runlevel ${level}` });
  }
  for (const spec of services.disable) {
    const { name, level } = parseService(spec, 'services.disable');
    if (level !== undefined) checkLevel(spec, level, 'services.disable');
    for (const l of level === undefined ? levels : [level]) {
      const link = `${RUNLEVELS}/${l}/${name}`;
      if (!tree.lstat(link)?.isSymbolicLink()) continue;
      tree.remove(link);
      emit({ kind: 'log', level: 'info', source: 'openrc', message: `${name} removed from runlevel ${l}` });
    }
  }
}
