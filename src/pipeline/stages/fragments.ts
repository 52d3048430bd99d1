/** The JSON fragments hooks leave in $KILN_MANIFEST_DIR: kept in checkpoints, merged into the manifest. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError } from '../../util/errors.ts';

export async function readFragments(dir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    try {
      out[name] = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch (err) {
      throw new BuildError(`a hook left ${name} in $KILN_MANIFEST_DIR that is not JSON: ${(err as Error).message}`);
    }
  }
  return out;
}
