/** configure: the package format's own configuration of what unpack left (maintainer scripts, alpm hooks, triggers). */
import type { StageModule } from './types.ts';

export const configure: StageModule<'configure'> = {
  name: 'configure',
  reads: {},
  run: ({ installer }) => installer.configure(),
};
