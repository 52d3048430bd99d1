import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.ts';

/** kiln's cache: build.cache-directory, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. */
export function cacheDirectory(config: Config, env: NodeJS.ProcessEnv = process.env): string {
  const configured = config['build.cache-directory'];
  if (configured) return resolve(configured);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'kiln');
}
