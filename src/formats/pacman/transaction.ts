/**
 * The part of a pacman transaction that runs inside the tree: each package's
 * pre_install and post_install (`. .INSTALL; FN VERSION`, in install order),
 * then the PostTransaction ALPM hooks (PreTransaction hooks did not exist
 * before this install). All of it runs as one shell script in one sandbox:
 * under emulation, starting the sandbox and a shell costs more than most
 * scriptlets. Each scriptlet still runs in its own subshell, as pacman gives
 * each its own `sh -c`; failures are recorded and reported per package and
 * hook, and, as with pacman, do not stop the install.
 */
import { Tree } from '../../tree/index.ts';
import type { InstallContext } from '../types.ts';
import { describeHookRun, loadHooks, matchHooks, type HookFile, type HookRun } from './hooks.ts';
import { LOCAL_DB } from './localdb.ts';
import type { UnpackedPacman } from './unpack.ts';
import { packageSatisfies, parseRelation, type Satisfier } from './version.ts';

const HOOK_DIRS = ['usr/share/libalpm/hooks', 'etc/pacman.d/hooks'];
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
  tree.remove(WORK, { recursive: true });
  tree.mkdir(WORK, { mode: 0o700 });
  const lines = ['umask 022', 'cd / || exit 1', `failed=/${WORK}/failed`, ': > "$failed"'];
  for (const s of scriptlets) {
    lines.push(`echo ${quote(`:: ${s.name} ${s.fn}`)}`);
    lines.push(`( . ${quote(s.script)}; ${s.fn} ${quote(s.version)} ) || echo ${quote(`scriptlet ${s.name} ${s.fn}`)} "$?" >> "$failed"`);
  }
  for (const [i, h] of hooks.entries()) {
    const input = `/${WORK}/hook-${i}.in`;
    tree.write(input, h.stdin ?? '');
    lines.push(`echo ${quote(describeHookRun(h, i + 1, hooks.length))}`);
    lines.push(`${h.argv.map(quote).join(' ')} < ${quote(input)} || echo ${quote(`hook ${h.name}`)} "$?" >> "$failed"`);
  }
  const driver = `/${WORK}/run.sh`;
  tree.write(driver, lines.join('\n') + '\n');
  try {
    await ctx.run(['/bin/sh', driver], { source: 'transaction', packageScripts: true, cwd: '/' });
    const failures = (tree.readTextIfExists(`${WORK}/failed`) ?? '').split('\n').filter(Boolean);
    for (const f of failures) {
      // "scriptlet NAME FN STATUS" or "hook NAME STATUS"
      const words = f.split(' ');
      const status = words.pop();
      ctx.emit({ kind: 'log', level: 'warn', source: words[1], message: `${words.join(' ')} failed with status ${status} (pacman goes on too)` });
    }
  } finally {
    tree.remove(WORK, { recursive: true });
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

/** A word for sh, in single quotes. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
