/**
 * The `preinst install` scripts of a fresh install, run once every package is
 * unpacked (as debootstrap and mmdebstrap do for the essential set). They are
 * independent of one another but for two kinds of shared state, so they run
 * in parallel lanes (one per core, at most two) with those kept apart:
 * base-passwd's goes first, alone (it puts /etc/passwd and /etc/group in
 * place), and every script that talks to debconf runs in the same lane (its
 * database takes one writer at a time). Each lane keeps the dependency order
 * and is one batch of the shared script driver (../script-batch.ts).
 */
import { availableParallelism } from 'node:os';
import { runScriptBatch, type ScriptBatch } from '../script-batch.ts';
import type { InstallContext } from '../types.ts';
import { MAINTSCRIPT_ENV } from './maintscript.ts';
import type { UnpackedDeb } from './unpack.ts';

const FIRST = 'base-passwd';

/** A rough cost: emulated process starts dominate, and helpers and debconf start many. */
function cost(script: string): number {
  return 1 + (script.match(/dpkg-maintscript-helper/g)?.length ?? 0) + (usesDebconf(script) ? 5 : 0);
}

const usesDebconf = (script: string) => /confmodule|debconf/.test(script);

/** Splits the scripts into lanes: debconf users together in lane 0, the rest by least load. */
export function preinstLanes(packages: UnpackedDeb[], laneCount: number): UnpackedDeb[][] {
  const lanes: UnpackedDeb[][] = Array.from({ length: laneCount }, () => []);
  const load = new Array<number>(laneCount).fill(0);
  const withScripts = packages.filter((p) => p.preinst !== undefined && p.control.get('Package') !== FIRST);
  for (const p of withScripts.filter((p) => usesDebconf(p.preinst as string))) {
    lanes[0]!.push(p);
    load[0]! += cost(p.preinst as string);
  }
  const rest = withScripts.filter((p) => !usesDebconf(p.preinst as string));
  // Largest first onto the least loaded lane, then each lane back in dependency order.
  for (const p of [...rest].sort((a, b) => cost(b.preinst as string) - cost(a.preinst as string))) {
    const lane = load.indexOf(Math.min(...load));
    lanes[lane]!.push(p);
    load[lane]! += cost(p.preinst as string);
  }
  const position = new Map(packages.map((p, i) => [p, i]));
  return lanes.map((lane) => lane.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0))).filter((lane) => lane.length > 0);
}

/** One lane as a batch: dpkg's environment for each preinst, and the first failure stops the install, as dpkg's would. */
export function laneBatch(lane: UnpackedDeb[], nativeArch: string): ScriptBatch {
  const steps = lane.map((u) => {
    const name = u.control.get('Package') as string;
    const env = { DPKG_MAINTSCRIPT_PACKAGE: name, DPKG_MAINTSCRIPT_ARCH: u.control.get('Architecture') ?? nativeArch, DPKG_MAINTSCRIPT_NAME: 'preinst' };
    return { command: { argv: [`/var/lib/dpkg/info/${u.infoName}.preinst`, 'install'], env }, label: `preinst of ${name}`, source: name };
  });
  return { steps, onFailure: 'stop', preamble: ['set -u'] };
}

/** Runs every preinst (packages in dependency order). */
export async function runPreinsts(ctx: InstallContext, packages: UnpackedDeb[], nativeArch: string): Promise<void> {
  const first = packages.find((p) => p.control.get('Package') === FIRST && p.preinst !== undefined);
  const run = (lane: UnpackedDeb[], i: number) => runScriptBatch(ctx, laneBatch(lane, nativeArch), `tmp/.kiln-preinst-${i}`, { env: MAINTSCRIPT_ENV, source: 'preinst' });
  if (first) await run([first], 0);
  const lanes = preinstLanes(packages, Math.min(2, availableParallelism()));
  await Promise.all(lanes.map(run));
}
