/**
 * The `preinst install` scripts of a fresh install, run once every package is
 * unpacked (as debootstrap and mmdebstrap do for the essential set). They are
 * independent of one another but for two kinds of shared state, so they run
 * in parallel lanes (one per core, at most two) with those kept apart:
 * base-passwd's goes first, alone (it puts /etc/passwd and /etc/group in
 * place), and every script that talks to debconf runs in the same lane (its
 * database takes one writer at a time). Each lane keeps the dependency order.
 */
import { availableParallelism } from 'node:os';
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

function laneScript(lane: UnpackedDeb[], nativeArch: string): string {
  const lines = lane.map((u) => {
    const name = u.control.get('Package') as string;
    const arch = u.control.get('Architecture') ?? nativeArch;
    return `DPKG_MAINTSCRIPT_PACKAGE=${name} DPKG_MAINTSCRIPT_ARCH=${arch} DPKG_MAINTSCRIPT_NAME=preinst /var/lib/dpkg/info/${u.infoName}.preinst install || { echo "preinst of ${name} failed with status $?"; exit 1; }`;
  });
  return `set -u\n${lines.join('\n')}`;
}

/** Runs every preinst (packages in dependency order). */
export async function runPreinsts(ctx: InstallContext, packages: UnpackedDeb[], nativeArch: string): Promise<void> {
  const first = packages.find((p) => p.control.get('Package') === FIRST && p.preinst !== undefined);
  const run = (lane: UnpackedDeb[]) => ctx.run(['/bin/sh', '-c', laneScript(lane, nativeArch)], { env: MAINTSCRIPT_ENV, source: 'preinst', packageScripts: true });
  if (first) await run([first]);
  const lanes = preinstLanes(packages, Math.min(2, availableParallelism()));
  await Promise.all(lanes.map(run));
}
