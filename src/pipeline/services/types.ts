/**
 * What an init system is to kiln: something a tree can be found to have,
 * and that enables and disables services in the tree offline. One module per
 * init system (systemd.ts, openrc.ts), chosen by what the tree holds.
 */
import type { InstallEnvironment } from '../../formats/index.ts';
import type { Tree } from '../../tree/index.ts';

export interface InitSystem {
  readonly name: string;
  /** The tree has this init system (checked in the registry's order: the first that matches is used). */
  present(tree: Tree): boolean;
  /** Enables, then disables, the services as the settings name them. */
  apply(ctx: InstallEnvironment, services: { enable: readonly string[]; disable: readonly string[] }): Promise<void>;
}
