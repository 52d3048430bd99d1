/**
 * The script ledger of a foreign build, for the manifest: per package,
 * whether its maintainer scripts ran with native helpers (at least one
 * program they started ran from a native twin), fully emulated, or not at
 * all (it has none). Kept as a manifest fragment (`script-ledger`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tree } from '../tree/index.ts';
import type { ExecutionCounts } from './twin-dispatch.ts';

export type ScriptRun = 'native helpers' | 'fully emulated' | 'no scripts';

const SCRIPTS = ['preinst', 'postinst'];

/** The ledger for the tree's packages: names (as dpkg's info files have them, with or without :ARCH) -> how their scripts ran. */
export function scriptLedger(root: string, packages: readonly { name: string }[], byPackage: ExecutionCounts['byPackage']): Record<string, ScriptRun> {
  const tree = new Tree(root);
  const info = new Set(tree.isDirectory('var/lib/dpkg/info') ? tree.readdir('var/lib/dpkg/info') : []);
  const ledger: Record<string, ScriptRun> = {};
  for (const { name } of [...packages].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const hasScripts = [...info].some((f) => SCRIPTS.some((s) => f === `${name}.${s}` || (f.startsWith(`${name}:`) && f.endsWith(`.${s}`))));
    ledger[name] = (byPackage.get(name)?.native ?? 0) > 0 ? 'native helpers' : hasScripts ? 'fully emulated' : 'no scripts';
  }
  return ledger;
}

export const LEDGER_FRAGMENT = 'kiln-script-ledger.json';

export async function writeScriptLedger(fragments: string, ledger: Record<string, ScriptRun>): Promise<void> {
  await writeFile(join(fragments, LEDGER_FRAGMENT), JSON.stringify({ 'script-ledger': ledger }));
}
