/**
 * Installing a planned package set into a root, inside the namespace:
 * native, parallel unpacking and dpkg bookkeeping, then only the maintainer
 * scripts and `dpkg --configure` inside the root (emulated when foreign).
 */
import { step } from '../../pipeline/step.ts';
import { Tree } from '../../tree/index.ts';
import { extractPackages } from '../extract-packages.ts';
import { ensureMountPoints } from '../mount-points.ts';
import type { InstallContext } from '../types.ts';
import { formatStanza } from './control.ts';
import type { DebInstallPlan, DebPlanExtra } from './plan.ts';
import { unpackDeb, type UnpackedDeb } from './unpack.ts';
import { configurationOrder } from './order.ts';
import { runPreinsts } from './preinst.ts';
import { MAINTSCRIPT_ENV } from './maintscript.ts';
import { DEFERRED_BIN, deferredPath, deferredWrapperFile, pendingCreates } from './deferred.ts';
import { DEFAULT_PATH } from '../../sandbox/index.ts';

/** Keeps daemons from starting while scripts run (the Debian policy-rc.d convention). */
const POLICY_RC_D = '#!/bin/sh\nexit 101\n';


/** The unpack stage: the skeleton, every package's files, dpkg's status with all of them unpacked. */
export async function unpackDebs(ctx: InstallContext<DebInstallPlan>): Promise<UnpackedDeb[]> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra;
  const tree = new Tree(root);
  await step(emit, 'skeleton', async () => makeSkeleton(tree, extra));
  const unpacked = await extractPackages(ctx, { unpack: (data, p, extractor) => unpackDeb(tree, data, p, extractor), warnings: (u) => u.skipped });
  writeStatus(tree, unpacked, 'install ok unpacked');
  return unpacked;
}

/** The configure stage: preinst scripts, then `dpkg --configure -a` inside the root. */
export async function configureDebs(ctx: InstallContext<DebInstallPlan>, unpacked: UnpackedDeb[]): Promise<void> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra;
  const byName = new Map(unpacked.map((u) => [u.control.get('Package') as string, u]));
  const order = configurationOrder(unpacked.map((u) => u.control));
  const tree = new Tree(root);
  const policy = 'usr/sbin/policy-rc.d';
  tree.write(policy, POLICY_RC_D, { mode: 0o755 });
  await step(emit, 'preinst', () => runPreinsts(ctx, order.map((name) => byName.get(name) as UnpackedDeb), extra.architecture));
  // Deferred hooks (deferred.ts): the kernel hook's update-initramfs -c is left to initramfs-tools' trigger.
  const wrapper = await deferredWrapperFile(ctx.cacheDir);
  await step(emit, 'dpkg', () =>
    ctx.run(['dpkg', '--force-unsafe-io', '--configure', '-a'], {
      env: { ...MAINTSCRIPT_ENV, PATH: deferredPath(DEFAULT_PATH) },
      source: 'dpkg',
      packageScripts: true,
      runBinds: [{ source: wrapper, target: `${DEFERRED_BIN.replace(/^\/run\//, '')}/update-initramfs` }],
    }),
  );
  for (const version of pendingCreates(tree)) {
    emit({ kind: 'log', level: 'info', source: 'update-initramfs', message: `no trigger made the deferred initramfs of ${version}: making it now` });
    tree.remove(`boot/initrd.img-${version}`);
    await ctx.run(['update-initramfs', '-c', '-k', version], { env: MAINTSCRIPT_ENV, source: 'update-initramfs', packageScripts: true });
  }
  tree.remove(policy);
  // What differs between runs is finalize's to remove (src/formats/deb/normalise.ts); apt's sources stay the plan's.
  tree.write('etc/apt/sources.list', aptSources(extra));
}

function makeSkeleton(tree: Tree, extra: DebPlanExtra): void {
  for (const dir of extra.mergedUsrLinks) {
    tree.mkdir(`usr/${dir}`);
    tree.symlink(`usr/${dir}`, dir);
  }
  for (const dir of ['etc/apt', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/lib/dpkg/alternatives', 'var/lib/dpkg/parts', 'usr/sbin']) {
    tree.mkdir(dir);
  }
  // Before the unpack, with mkdir's modes: base-files leaves them as they are.
  ensureMountPoints(tree, { packageModes: false });
  tree.write('var/lib/dpkg/status', '');
  tree.write('var/lib/dpkg/available', '');
  tree.write('var/lib/dpkg/arch', `${extra.architecture}\n`);
  tree.write('etc/apt/sources.list', aptSources(extra));
}

export function aptSources(extra: DebPlanExtra): string {
  return `deb ${extra.mirror} ${extra.release} ${extra.components.join(' ')}\n`;
}

/** /var/lib/dpkg/status with every package in the given state, conffiles marked new. */
function writeStatus(tree: Tree, packages: UnpackedDeb[], status: string): void {
  const stanzas = packages.map((p) => {
    const fields: [string, string][] = [];
    for (const [name, value] of p.control) {
      fields.push([name, value]);
      if (name === 'Package') fields.push(['Status', status]);
    }
    if (p.conffiles.length) fields.push(['Conffiles', '\n' + p.conffiles.map((c) => `${c} newconffile`).join('\n')]);
    return formatStanza(fields);
  });
  tree.write('var/lib/dpkg/status', stanzas.join('\n'));
}
