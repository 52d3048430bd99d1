/**
 * The part of an apk install that runs inside the tree: each package's
 * .pre-install and then its .post-install (argument: the new version), in
 * install order, then the trigger of each package whose trigger globs match
 * a directory the install filled (arguments: those directories), as apk
 * runs them at the end of a commit. All of it is one shell script in one
 * sandbox (../script-batch.ts), emulated when foreign, with the
 * environment every tree command gets (SOURCE_DATE_EPOCH). A failing script
 * is reported and the rest still run, as apk goes on and marks the package.
 */
import { Tree } from '../../tree/index.ts';
import { fnmatch } from '../../util/fnmatch.ts';
import { runScriptBatch, type ScriptStep } from '../script-batch.ts';
import type { InstallContext } from '../types.ts';
import type { UnpackedApk } from './unpack.ts';

const WORK = 'tmp/.kiln-apk-batch';
/**
 * Names the package whose script or trigger runs, in its environment (apk
 * names none; kiln's pacman batch sets the same): the native-twin
 * dispatcher's log counts executions per package by it (twins.ts), for the
 * script ledger. Set with or without twins, so the scripts see the same
 * environment either way.
 */
export const APK_SCRIPT_PACKAGE_VARIABLE = 'KILN_SCRIPT_PACKAGE';
/** Where the scripts are put for the batch, as apk puts them in a file of their own to execute. */
const SCRIPT_DIR = 'tmp/.kiln-apk-scripts';

export interface ScriptsResult {
  scripts: number;
  triggers: number;
}

/** The directories (absolute, as apk passes them) that match a package's trigger globs, in install order. */
export function triggerDirectories(globs: readonly string[], unpacked: readonly UnpackedApk[]): string[] {
  const dirs: string[] = [];
  for (const u of unpacked) for (const d of u.dirs) if (!dirs.includes(`/${d.path}`)) dirs.push(`/${d.path}`);
  const patterns = globs.map((g) => g.replace(/^\+/, ''));
  return dirs.filter((d) => patterns.some((p) => matchesPath(p, d)));
}

/** fnmatch with FNM_PATHNAME, as apk matches trigger globs: a wildcard never crosses a `/`. */
function matchesPath(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const have = path.split('/');
  return want.length === have.length && want.every((w, i) => fnmatch(w, have[i] as string));
}

export async function runApkScripts(ctx: InstallContext, unpacked: readonly UnpackedApk[]): Promise<ScriptsResult> {
  const tree = new Tree(ctx.root);
  const steps: ScriptStep[] = [];
  tree.remove(SCRIPT_DIR, { recursive: true });
  const place = (u: UnpackedApk, type: string, script: Buffer) => {
    tree.mkdir(SCRIPT_DIR, { mode: 0o700 });
    const path = `${SCRIPT_DIR}/${u.name}-${u.version}.${type}`;
    tree.write(path, script, { mode: 0o755 });
    return `/${path}`;
  };
  let scripts = 0;
  for (const u of unpacked) {
    for (const type of ['pre-install', 'post-install'] as const) {
      const script = u.scripts[type];
      if (!script) continue;
      steps.push({ banner: `(${u.name}) ${type}`, command: { argv: [place(u, type, script), u.version], env: { [APK_SCRIPT_PACKAGE_VARIABLE]: u.name } }, label: `${type} of ${u.name}`, source: u.name });
      scripts++;
    }
  }
  let triggers = 0;
  for (const u of unpacked) {
    if (!u.scripts.trigger) continue;
    const globs = (u.pkginfo.get('triggers') ?? []).flatMap((t) => t.split(' ')).filter(Boolean);
    const dirs = triggerDirectories(globs, unpacked);
    if (!dirs.length) continue;
    steps.push({ banner: `(${u.name}) trigger ${dirs.join(' ')}`, command: { argv: [place(u, 'trigger', u.scripts.trigger), ...dirs], env: { [APK_SCRIPT_PACKAGE_VARIABLE]: u.name } }, label: `trigger of ${u.name}`, source: u.name });
    triggers++;
  }
  if (!steps.length) return { scripts: 0, triggers: 0 };
  try {
    if (!tree.exists('bin/sh')) {
      ctx.emit({ kind: 'log', level: 'warn', source: 'scripts', message: `no /bin/sh in the tree: ${scripts} scripts and ${triggers} triggers not run` });
      return { scripts: 0, triggers: 0 };
    }
    const failures = await runScriptBatch(ctx, { steps, onFailure: 'record', preamble: ['umask 022', 'cd / || exit 1'] }, WORK, { source: 'scripts', cwd: '/' });
    for (const { step, status } of failures) ctx.emit({ kind: 'log', level: 'warn', source: step.source, message: `${step.label} failed with status ${status} (apk goes on too)` });
    return { scripts, triggers };
  } finally {
    tree.remove(SCRIPT_DIR, { recursive: true });
  }
}
