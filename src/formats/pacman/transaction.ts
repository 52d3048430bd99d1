/**
 * The part of a pacman transaction that runs inside the tree: each package's
 * pre_install and post_install (`. .INSTALL; FN VERSION`, in install order),
 * then the PostTransaction ALPM hooks (PreTransaction hooks did not exist
 * before this install). All of it runs as one shell script in one sandbox:
 * under emulation, starting the sandbox and a shell costs more than most
 * scriptlets (the driver: ../script-batch.ts). Each scriptlet still runs in
 * its own subshell, as pacman gives each its own `sh -c`; failures are
 * recorded and reported per package and hook, and, as with pacman, do not
 * stop the install.
 */
import { Tree } from '../../tree/index.ts';
import { runScriptBatch, shellQuote, type ScriptStep } from '../script-batch.ts';
import type { InstallContext } from '../types.ts';
import { describeHookRun, loadHooks, matchHooks, type HookFile, type HookRun } from './hooks.ts';
import { LOCAL_DB } from './localdb.ts';
import type { UnpackedPacman } from './unpack.ts';
import { packageSatisfies, parseRelation, type Satisfier } from './version.ts';

const HOOK_DIRS = ['usr/share/libalpm/hooks', 'etc/pacman.d/hooks'];
/**
 * Names the package whose scriptlet runs, in the scriptlet's environment
 * (pacman names none): the native-twin dispatcher's log counts executions
 * per package by it (twins.ts), for the script ledger. Set with or without
 * twins, so the scriptlets see the same environment either way.
 */
export const SCRIPT_PACKAGE_VARIABLE = 'KILN_SCRIPT_PACKAGE';
const WORK = 'tmp/.kiln-transaction';

interface Scriptlet {
  name: string;
  fn: 'pre_install' | 'post_install';
  script: string;
  version: string;
}

export interface TransactionResult {
  scriptlets: number;
  hooks: number;
}

export async function runTransaction(ctx: InstallContext, unpacked: UnpackedPacman[]): Promise<TransactionResult> {
  const scriptlets = findScriptlets(unpacked);
  const tree = new Tree(ctx.root);
  const hooks = await findHooks(ctx, tree, unpacked);
  if (!scriptlets.length && !hooks.length) return { scriptlets: 0, hooks: 0 };
  if (!tree.exists('bin/sh')) {
    // pacman runs scriptlets with /bin/sh too; without one it reports them failed and goes on.
    ctx.emit({ kind: 'log', level: 'warn', source: 'transaction', message: `no /bin/sh in the tree: ${scriptlets.length} scriptlets and ${hooks.length} hooks not run` });
    return { scriptlets: 0, hooks: 0 };
  }
  const steps: ScriptStep[] = [
    ...scriptlets.map((s) => ({
      banner: `:: ${s.name} ${s.fn}`,
      command: { shell: `${SCRIPT_PACKAGE_VARIABLE}=${shellQuote(s.name)}; export ${SCRIPT_PACKAGE_VARIABLE}; . ${shellQuote(s.script)}; ${s.fn} ${shellQuote(s.version)}` },
      label: `scriptlet ${s.name} ${s.fn}`,
      source: s.name,
    })),
    ...hooks.map((h, i) => ({ banner: describeHookRun(h, i + 1, hooks.length), command: { argv: h.argv, stdin: h.stdin ?? '' }, label: `hook ${h.name}`, source: h.name })),
  ];
  const failures = await runScriptBatch(ctx, { steps, onFailure: 'record', preamble: ['umask 022', 'cd / || exit 1'] }, WORK, { source: 'transaction', cwd: '/' });
  for (const { step, status } of failures) {
    ctx.emit({ kind: 'log', level: 'warn', source: step.source, message: `${step.label} failed with status ${status} (pacman goes on too)` });
  }
  return { scriptlets: scriptlets.length, hooks: hooks.length };
}

function findScriptlets(unpacked: UnpackedPacman[]): Scriptlet[] {
  const out: Scriptlet[] = [];
  for (const u of unpacked) {
    const text = u.install?.toString('utf8');
    if (!text) continue;
    const name = u.pkginfo.get('pkgname')?.[0] as string;
    const version = u.pkginfo.get('pkgver')?.[0] as string;
    for (const fn of ['pre_install', 'post_install'] as const) {
      // pacman calls a function only when the .INSTALL defines it.
      if (new RegExp(`(^|\\n)\\s*(function\\s+)?${fn}\\s*\\(`).test(text)) out.push({ name, fn, script: `/${LOCAL_DB}/${name}-${version}/install`, version });
    }
  }
  return out;
}

/** The PostTransaction hooks this install triggers, whose Depends are installed, in pacman's order. */
async function findHooks(ctx: InstallContext, tree: Tree, unpacked: UnpackedPacman[]): Promise<HookRun[]> {
  const files: HookFile[] = [];
  for (const dir of HOOK_DIRS) {
    for (const name of tree.isDirectory(dir) ? tree.readdir(dir) : []) {
      files.push({ dir: `/${dir}`, name, text: readHookFile(tree, `${dir}/${name}`) });
    }
  }
  const set = loadHooks(files);
  for (const message of [...set.errors, ...set.warnings]) ctx.emit({ kind: 'log', level: 'warn', source: 'hooks', message });
  const packages = unpacked.map((u) => ({ name: u.pkginfo.get('pkgname')?.[0] as string, files: u.files }));
  const installed: Satisfier[] = unpacked.map((u) => ({
    name: u.pkginfo.get('pkgname')?.[0] as string,
    version: u.pkginfo.get('pkgver')?.[0] as string,
    provides: (u.pkginfo.get('provides') ?? []).map(parseRelation),
  }));
  return matchHooks(set, 'PostTransaction', { add: packages }).filter((r) => {
    const missing = r.depends.filter((d) => !installed.some((p) => packageSatisfies(p, parseRelation(d))));
    if (missing.length) ctx.emit({ kind: 'log', level: 'warn', source: r.name, message: `skipped: nothing installed satisfies its Depends ${missing.join(', ')}` });
    return missing.length === 0;
  });
}

/** A hook file's text, or null when it masks (empty, or a link to /dev/null); links are followed inside the root. */
function readHookFile(tree: Tree, rel: string): string | null {
  if (tree.readlink(rel) === '/dev/null') return null;
  const text = tree.readTextIfExists(rel) ?? '';
  return text.length === 0 ? null : text;
}
