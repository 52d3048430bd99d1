/**
 * Installing a planned pacman package set into a root, inside the namespace:
 * native unpacking (the first package, `filesystem` by dependency order, alone,
 * so that its /bin, /lib links exist before anything goes through them), the
 * local database, then only the .INSTALL scriptlets and the ALPM hooks inside
 * the root (one sandbox for all of them, emulated when foreign: transaction.ts),
 * the first-boot keyring unit (keyring.ts), and
 * the image's pacman.conf and mirrorlist.
 */
import { step } from '../../pipeline/step.ts';
import { Tree } from '../../tree/index.ts';
import { extractPackages } from '../extract-packages.ts';
import { ensureMountPoints } from '../mount-points.ts';
import type { InstallContext } from '../types.ts';
import { runTransaction } from './transaction.ts';
import { prepareKeyring } from './keyring.ts';
import { LOCAL_DB, writeLocalDbHeader, writeLocalEntry } from './localdb.ts';
import type { PacmanPackageExtra, PacmanInstallPlan, PacmanPlanExtra, PacmanSource } from './plan.ts';
import { unpackPacman, type UnpackedPacman } from './unpack.ts';

/** The unpack stage: every package's files and the local database. */
export async function unpackPacmans(ctx: InstallContext<PacmanInstallPlan>): Promise<UnpackedPacman[]> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra;
  await step(emit, 'skeleton', async () => makeSkeleton(new Tree(root)));
  const unpacked = await extractPackages(ctx, { unpack: unpackPacman, alone: 1 });
  ensureRuntimeDirs(new Tree(root));
  await step(emit, 'database', async () => {
    const sources = new Map(extra.sources.map((s) => [s.name, s]));
    await writeLocalDbHeader(root);
    for (const [i, p] of plan.packages.entries()) {
      const pe = p.extra;
      await writeLocalEntry(root, { planned: p, unpacked: unpacked[i] as UnpackedPacman, explicit: pe.explicit, installDate: ctx.sourceDateEpoch, validated: (sources.get(pe.repo) as PacmanSource).signed });
    }
  });
  return unpacked;
}

/** The configure stage: scriptlets and hooks in the root, the keyring, the image's pacman.conf. */
export async function configurePacmans(ctx: InstallContext<PacmanInstallPlan>, unpacked: UnpackedPacman[]): Promise<void> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra;
  await step(emit, 'scripts', () => runTransaction(ctx, unpacked), (r) => `${r.scriptlets} scriptlets, ${r.hooks} hooks`);
  await step(emit, 'keyring', async () => prepareKeyring(root), (what) => what);
  await step(emit, 'pacman.conf', async () => writePacmanConf(new Tree(root), extra));
}

/** What pacman itself makes before a transaction: its database and cache directories. */
function makeSkeleton(tree: Tree): void {
  for (const dir of [LOCAL_DB, 'var/lib/pacman/sync', 'var/cache/pacman/pkg']) tree.mkdir(dir);
}

/** Mount points and /tmp for the scripts, and /etc/pacman.d, where the packages (filesystem) did not make them. */
function ensureRuntimeDirs(tree: Tree): void {
  ensureMountPoints(tree, { packageModes: true });
  if (!tree.exists('etc/pacman.d')) tree.mkdir('etc/pacman.d', { mode: 0o755 });
}

/** The image's own pacman configuration: the configured repositories and mirrors, packages signature-checked. */
export function pacmanConf(extra: PacmanPlanExtra): { conf: string; mirrorlist: string } {
  const main = extra.sources.filter((s) => !s.third);
  const servers = [...new Set(main.map((s) => s.server))];
  const mirrorlist = `# Written by kiln: the mirror the image was built from\n${servers.length === 1 ? `Server = ${servers[0]}\n` : ''}`;
  const sections = extra.sources.map((s) => {
    const where = !s.third && servers.length === 1 ? 'Include = /etc/pacman.d/mirrorlist' : `Server = ${s.server}`;
    const sig = s.signed ? '' : 'SigLevel = Never\n';
    return `[${s.name}]\n${sig}${where}\n`;
  });
  const conf = `# Written by kiln. See pacman.conf(5).\n[options]\nHoldPkg = pacman glibc\nArchitecture = ${extra.architecture}\nCheckSpace\nSigLevel = Required DatabaseOptional\nLocalFileSigLevel = Optional\n\n${sections.join('\n')}`;
  return { conf, mirrorlist };
}

function writePacmanConf(tree: Tree, extra: PacmanPlanExtra): void {
  const { conf, mirrorlist } = pacmanConf(extra);
  tree.mkdir('etc/pacman.d');
  tree.write('etc/pacman.conf', conf);
  tree.write('etc/pacman.d/mirrorlist', mirrorlist);
}
