/**
 * Installing a planned package set into a root, inside the namespace:
 * native, parallel unpacking and dpkg bookkeeping, then only the maintainer
 * scripts and `dpkg --configure` inside the root (emulated when foreign).
 */
import { mkdir, symlink, writeFile, rm, chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createExtractor } from '../../archive/index.ts';
import { step } from '../../pipeline/step.ts';
import { mapLimit } from '../../util/concurrency.ts';
import type { InstallContext } from '../types.ts';
import { formatStanza } from './control.ts';
import type { DebPlanExtra } from './plan.ts';
import { unpackDeb, type UnpackedDeb } from './unpack.ts';
import { configurationOrder } from './order.ts';
import { runPreinsts } from './preinst.ts';
import { MAINTSCRIPT_ENV } from './maintscript.ts';

/** Keeps daemons from starting while scripts run (the Debian policy-rc.d convention). */
const POLICY_RC_D = '#!/bin/sh\nexit 101\n';


/** The unpack stage: the skeleton, every package's files, dpkg's status with all of them unpacked. */
export async function unpackDebs(ctx: InstallContext): Promise<UnpackedDeb[]> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra as DebPlanExtra;
  await step(emit, 'skeleton', () => makeSkeleton(root, extra));
  const unpacked = await step(
    emit,
    'extract',
    async () => {
      const extractor = createExtractor(root, { chown: true });
      const result = await mapLimit(plan.packages, 2, async (p) => unpackDeb(root, await ctx.readPackage(p), p, extractor));
      const warnings = [...result.flatMap((r) => r.skipped), ...extractor.finish().warnings];
      for (const warning of warnings) emit({ kind: 'log', level: 'warn', source: 'unpack', message: warning });
      return result;
    },
    (r) => `${r.length} packages`,
  );
  await writeStatus(root, unpacked, 'install ok unpacked');
  return unpacked;
}

/** The configure stage: preinst scripts, then `dpkg --configure -a` inside the root. */
export async function configureDebs(ctx: InstallContext, unpacked: UnpackedDeb[]): Promise<void> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra as DebPlanExtra;
  const byName = new Map(unpacked.map((u) => [u.control.get('Package') as string, u]));
  const order = configurationOrder(unpacked.map((u) => u.control));
  const policy = join(root, 'usr/sbin/policy-rc.d');
  await writeFile(policy, POLICY_RC_D);
  await chmod(policy, 0o755);
  await step(emit, 'preinst', () => runPreinsts(ctx, order.map((name) => byName.get(name) as UnpackedDeb), extra.architecture));
  await step(emit, 'dpkg', () => ctx.run(['dpkg', '--force-unsafe-io', '--configure', '-a'], { env: MAINTSCRIPT_ENV, source: 'dpkg', packageScripts: true }));
  await rm(policy, { force: true });
  await step(emit, 'cleanup', () => finalize(root, extra));
}

async function makeSkeleton(root: string, extra: DebPlanExtra): Promise<void> {
  for (const dir of extra.mergedUsrLinks) {
    await mkdir(join(root, 'usr', dir), { recursive: true });
    await symlink(`usr/${dir}`, join(root, dir));
  }
  for (const dir of ['etc/apt', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/lib/dpkg/alternatives', 'var/lib/dpkg/parts', 'proc', 'sys', 'dev', 'run', 'usr/sbin']) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'var/lib/dpkg/status'), '');
  await writeFile(join(root, 'var/lib/dpkg/available'), '');
  await writeFile(join(root, 'var/lib/dpkg/arch'), `${extra.architecture}\n`);
  await writeFile(join(root, 'etc/apt/sources.list'), aptSources(extra));
}

export function aptSources(extra: DebPlanExtra): string {
  return `deb ${extra.mirror} ${extra.release} ${extra.components.join(' ')}\n`;
}

/** /var/lib/dpkg/status with every package in the given state, conffiles marked new. */
async function writeStatus(root: string, packages: UnpackedDeb[], status: string): Promise<void> {
  const stanzas = packages.map((p) => {
    const fields: [string, string][] = [];
    for (const [name, value] of p.control) {
      fields.push([name, value]);
      if (name === 'Package') fields.push(['Status', status]);
    }
    if (p.conffiles.length) fields.push(['Conffiles', '\n' + p.conffiles.map((c) => `${c} newconffile`).join('\n')]);
    return formatStanza(fields);
  });
  await writeFile(join(root, 'var/lib/dpkg/status'), stanzas.join('\n'));
}

/** Removes what differs between runs and what a fresh install should not carry. */
async function finalize(root: string, extra: DebPlanExtra): Promise<void> {
  const remove = ['var/cache/ldconfig/aux-cache', 'var/log/dpkg.log', 'var/log/alternatives.log', 'var/lib/dpkg/status-old', 'var/lib/dpkg/diversions-old', 'var/lib/dpkg/statoverride-old', 'var/cache/debconf/config.dat-old', 'var/cache/debconf/templates.dat-old', 'var/cache/debconf/passwords.dat-old'];
  for (const rel of remove) await rm(join(root, rel), { force: true });
  for (const dir of ['var/lib/apt/lists', 'var/cache/apt', 'var/log/apt']) {
    const entries = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const e of entries) {
      if (e === 'partial' || e === 'archives' || e === 'lock') continue;
      await rm(join(root, dir, e), { recursive: true, force: true });
    }
  }
  await writeFile(join(root, 'etc/apt/sources.list'), aptSources(extra));
}
