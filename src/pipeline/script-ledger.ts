/**
 * The script ledger of a foreign build, for the manifest: per package,
 * whether its scripts (maintainer scripts, .INSTALL scriptlets, apk's scripts and triggers) ran with native helpers (at least one
 * program they started ran from a native twin), fully emulated, or not at
 * all (it has none). Kept as a manifest fragment (`script-ledger`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TwinTreeFacts } from '../formats/twins.ts';
import { Tree } from '../tree/index.ts';
import type { ExecutionCounts } from './twin-dispatch.ts';

export type ScriptRun = 'native helpers' | 'fully emulated' | 'no scripts';

/** The ledger for the tree's packages: name -> how their scripts ran (whether a package has scripts is its format's database's to say). */
export function scriptLedger(root: string, packages: readonly { name: string; version: string }[], byPackage: ExecutionCounts['byPackage'], format: Pick<TwinTreeFacts, 'hasScripts'>): Record<string, ScriptRun> {
  const tree = new Tree(root);
  const ledger: Record<string, ScriptRun> = {};
  for (const { name, version } of [...packages].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    ledger[name] = (byPackage.get(name)?.native ?? 0) > 0 ? 'native helpers' : format.hasScripts(tree, name, version) ? 'fully emulated' : 'no scripts';
  }
  return ledger;
}

export const LEDGER_FRAGMENT = 'kiln-script-ledger.json';

export async function writeScriptLedger(fragments: string, ledger: Record<string, ScriptRun>): Promise<void> {
  await writeFile(join(fragments, LEDGER_FRAGMENT), JSON.stringify({ 'script-ledger': ledger }));
}
