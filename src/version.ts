import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const KILN_VERSION: string;
/** kiln's version: set by the bundler from package.json; part of every cache key. */
export const VERSION: string = typeof KILN_VERSION === 'string' ? KILN_VERSION : '0.0.0-dev';

let build: string | undefined;
/**
 * The version and a digest of the running code (the bundle): stage keys use
 * it, so a checkpoint made by other code, even under the same version
 * number, is never taken for this code's.
 */
export function buildId(): string {
  if (build === undefined) {
    let digest = 'unknown';
    try {
      digest = createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex').slice(0, 16);
    } catch {
      // not a file (an unusual loader): the version alone
    }
    build = `${VERSION}+${digest}`;
  }
  return build;
}
