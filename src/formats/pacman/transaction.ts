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
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { resolveInRoot } from '../../archive/index.ts';
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
  const hooks = await findHooks(ctx, unpacked);
  if (!scriptlets.length && !hooks.length) return { scriptlets: 0, hooks: 0 };
  if (!(await lstat(join(ctx.root, 'bin/sh')).then(() => true, () => false))) {
    // pacman runs scriptlets with /bin/sh too; without one it reports them failed and goes on.
    ctx.emit({ kind: 'log', level: 'warn', source: 'transaction', message: `no /bin/sh in the tree: ${scriptlets.length} scriptlets and ${hooks.length} hooks not run` });
    return { scriptlets: 0, hooks: 0 };
  }
  const work = join(ctx.root, WORK);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true, mode: 0o700 });
  const lines = ['umask 022', 'cd / || exit 1', `failed=/${WORK}/failed`, ': > "$failed"'];
  for (const s of scriptlets) {
    lines.push(`echo ${quote(`:: ${s.name} ${s.fn}`)}`);
    lines.push(`( . ${quote(s.script)}; ${s.fn} ${quote(s.version)} ) || echo ${quote(`scriptlet ${s.name} ${s.fn}`)} "$?" >> "$failed"`);
  }
  for (const [i, h] of hooks.entries()) {
    const input = `/${WORK}/hook-${i}.in`;
    await writeFile(join(ctx.root, input), h.stdin ?? '');
    lines.push(`echo ${quote(describeHookRun(h, i + 1, hooks.length))}`);
    lines.push(`${h.argv.map(quote).join(' ')} < ${quote(input)} || echo ${quote(`hook ${h.name}`)} "$?" >> "$failed"`);
  }
  const driver = `/${WORK}/run.sh`;
  await writeFile(join(ctx.root, driver), lines.join('\n') + '\n');
  try {
    await ctx.run(['/bin/sh', driver], { source: 'transaction', packageScripts: true, cwd: '/' });
    const failures = (await readFile(join(work, 'failed'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    for (const f of failures) {
      // "scriptlet NAME FN STATUS" or "hook NAME STATUS"
      const words = f.split(' ');
      const status = words.pop();
      ctx.emit({ kind: 'log', level: 'warn', source: words[1], message: `${words.join(' ')} failed with status ${status} (pacman goes on too)` });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
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
async function findHooks(ctx: InstallContext, unpacked: UnpackedPacman[]): Promise<HookRun[]> {
  const files: HookFile[] = [];
  for (const dir of HOOK_DIRS) {
    for (const name of await readdir(join(ctx.root, dir)).catch(() => [] as string[])) {
      files.push({ dir: `/${dir}`, name, text: await readHookFile(ctx.root, join(dir, name)) });
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
async function readHookFile(root: string, rel: string): Promise<string | null> {
  const st = await lstat(join(root, rel));
  if (st.isSymbolicLink()) {
    const target = await readlink(join(root, rel));
    if (target === '/dev/null') return null;
    const resolved = resolveInRoot(root, target.startsWith('/') ? target.slice(1) : join(dirname(rel), target));
    const text = existsSync(resolved) ? await readFile(resolved, 'utf8') : '';
    return text.length === 0 ? null : text;
  }
  const text = await readFile(join(root, rel), 'utf8');
  return text.length === 0 ? null : text;
}

/** A word for sh, in single quotes. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
