/**
 * Installing a planned pacman package set into a root, inside the namespace:
 * native unpacking (the first package, `filesystem` by dependency order, alone,
 * so that its /bin, /lib links exist before anything goes through them), the
 * local database, then only the .INSTALL scriptlets and the ALPM hooks inside
 * the root (emulated when foreign), the keyring natively where it can, and
 * the image's pacman.conf and mirrorlist.
 */
import { chmod, mkdir, readFile, readdir, readlink, writeFile, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createExtractor, resolveInRoot } from '../../archive/index.ts';
import { step } from '../../pipeline/step.ts';
import { mapLimit } from '../../util/concurrency.ts';
import { BuildError } from '../../util/errors.ts';
import type { InstallContext, PlannedPackage } from '../types.ts';
import { describeHookRun, loadHooks, matchHooks, type HookFile } from './hooks.ts';
import { packageSatisfies, parseRelation, type Satisfier } from './version.ts';
import { populateKeyring } from './keyring.ts';
import { LOCAL_DB, writeLocalDbHeader, writeLocalEntry } from './localdb.ts';
import type { PacmanPackageExtra, PacmanPlanExtra, PacmanSource } from './plan.ts';
import { unpackPacman, type UnpackedPacman } from './unpack.ts';

const HOOK_DIRS = ['usr/share/libalpm/hooks', 'etc/pacman.d/hooks'];

export async function installPacman(ctx: InstallContext): Promise<void> {
  const { root, plan, emit } = ctx;
  const extra = plan.extra as PacmanPlanExtra;
  await step(emit, 'skeleton', () => makeSkeleton(root));
  const unpacked = await step(
    emit,
    'unpack',
    async () => {
      const extractor = createExtractor(root, { chown: true });
      const one = (p: PlannedPackage) => unpackPacman(ctx.blobs[p.name] as string, p.urls[0] as string, extractor);
      const [first, ...rest] = plan.packages;
      const result = first ? [await one(first), ...(await mapLimit(rest, 2, one))] : [];
      for (const warning of extractor.finish().warnings) emit({ kind: 'log', level: 'warn', source: 'unpack', message: warning });
      return result;
    },
    (r) => `${r.length} packages`,
  );
  await ensureRuntimeDirs(root);
  await step(emit, 'database', async () => {
    const sources = new Map(extra.sources.map((s) => [s.name, s]));
    await writeLocalDbHeader(root);
    for (const [i, p] of plan.packages.entries()) {
      const pe = p.extra as PacmanPackageExtra;
      await writeLocalEntry(root, { unpacked: unpacked[i] as UnpackedPacman, explicit: pe.explicit, installDate: ctx.sourceDateEpoch, validated: (sources.get(pe.repo) as PacmanSource).signed });
    }
  });
  await step(emit, 'scriptlets', () => runScriptlets(ctx, unpacked), (n) => `${n} run`);
  await step(emit, 'hooks', () => runHooks(ctx, unpacked), (n) => `${n} run`);
  await step(emit, 'keyring', () => populateKeyring(ctx, extra.keyringPackages), (what) => what);
  await step(emit, 'finalize', () => writePacmanConf(root, extra));
}

/** What pacman itself makes before a transaction: its database and cache directories. */
async function makeSkeleton(root: string): Promise<void> {
  for (const dir of [LOCAL_DB, 'var/lib/pacman/sync', 'var/cache/pacman/pkg']) await mkdir(join(root, dir), { recursive: true });
}

/** Mount points and /tmp for the scripts, where the packages (filesystem) did not make them. */
async function ensureRuntimeDirs(root: string): Promise<void> {
  for (const [dir, mode] of [['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['run', 0o755], ['tmp', 0o1777], ['etc/pacman.d', 0o755]] as const) {
    const path = join(root, dir);
    if (await lstat(path).then(() => true, () => false)) continue;
    await mkdir(path, { recursive: true });
    await chmod(path, mode);
  }
}

/** Each package's pre_install and post_install, in install order, as pacman calls them: `. .INSTALL; FN VERSION`. */
async function runScriptlets(ctx: InstallContext, unpacked: UnpackedPacman[]): Promise<number> {
  let count = 0;
  for (const u of unpacked) {
    const text = u.install?.toString('utf8');
    if (!text) continue;
    const name = u.pkginfo.get('pkgname')?.[0] as string;
    const version = u.pkginfo.get('pkgver')?.[0] as string;
    const script = `/${LOCAL_DB}/${name}-${version}/install`;
    for (const fn of ['pre_install', 'post_install']) {
      if (!new RegExp(`(^|\\n)\\s*(function\\s+)?${fn}\\s*\\(`).test(text)) continue;
      count++;
      try {
        await ctx.run(['/bin/sh', '-c', `. "$1"; ${fn} "$2"`, 'scriptlet', script, version], { source: `${name} ${fn}`, packageScripts: true, cwd: '/' });
      } catch (err) {
        // pacman reports a failed scriptlet and goes on with the transaction.
        ctx.emit({ kind: 'log', level: 'warn', source: name, message: `${fn} failed: ${(err as Error).message}` });
      }
    }
  }
  return count;
}

/** PostTransaction hooks from the tree's hook directories (PreTransaction ones did not exist before this install). */
async function runHooks(ctx: InstallContext, unpacked: UnpackedPacman[]): Promise<number> {
  const files: HookFile[] = [];
  for (const dir of HOOK_DIRS) {
    for (const name of await readdir(join(ctx.root, dir)).catch(() => [] as string[])) {
      files.push({ dir: `/${dir}`, name, text: await readHookFile(ctx.root, join(dir, name)) });
    }
  }
  const set = loadHooks(files);
  for (const message of [...set.errors, ...set.warnings]) ctx.emit({ kind: 'log', level: 'warn', source: 'hooks', message });
  const packages = unpacked.map((u) => ({ name: u.pkginfo.get('pkgname')?.[0] as string, files: u.files }));
  const runs = matchHooks(set, 'PostTransaction', { add: packages });
  const installed: Satisfier[] = unpacked.map((u) => ({
    name: u.pkginfo.get('pkgname')?.[0] as string,
    version: u.pkginfo.get('pkgver')?.[0] as string,
    provides: (u.pkginfo.get('provides') ?? []).map(parseRelation),
  }));
  for (const [i, r] of runs.entries()) {
    const missing = r.depends.filter((d) => !installed.some((p) => packageSatisfies(p, parseRelation(d))));
    if (missing.length) {
      ctx.emit({ kind: 'log', level: 'warn', source: r.name, message: `skipped: nothing installed satisfies its Depends ${missing.join(', ')}` });
      continue;
    }
    ctx.emit({ kind: 'log', level: 'info', source: 'hooks', message: describeHookRun(r, i + 1, runs.length) });
    try {
      await ctx.run(r.argv, { source: r.name, input: r.stdin ?? '', packageScripts: true, cwd: '/' });
    } catch (err) {
      if (r.abortOnFail) throw new BuildError(`hook ${r.name} failed`, undefined, { cause: err });
      ctx.emit({ kind: 'log', level: 'warn', source: r.name, message: `failed: ${(err as Error).message}` });
    }
  }
  return runs.length;
}

/** A hook file's text, or null when it masks (empty, or a link to /dev/null); links are followed inside the root. */
async function readHookFile(root: string, rel: string): Promise<string | null> {
  const st = await lstat(join(root, rel));
  if (st.isSymbolicLink()) {
    const target = await readlink(join(root, rel));
    if (target === '/dev/null') return null;
    const resolved = resolveInRoot(root, target.startsWith('/') ? target.slice(1) : join(dirname(rel), target));
    const text = await readFile(resolved, 'utf8').catch(() => undefined);
    return text === undefined || text.length === 0 ? null : text;
  }
  const text = await readFile(join(root, rel), 'utf8');
  return text.length === 0 ? null : text;
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

async function writePacmanConf(root: string, extra: PacmanPlanExtra): Promise<void> {
  const { conf, mirrorlist } = pacmanConf(extra);
  await mkdir(join(root, 'etc/pacman.d'), { recursive: true });
  await writeFile(join(root, 'etc/pacman.conf'), conf);
  await writeFile(join(root, 'etc/pacman.d/mirrorlist'), mirrorlist);
}
