/**
 * The user's own steps. A hook is a program in `hooks/STAGE/NAME` of the
 * image directory, or an inline `[[hook]]` in the configuration, or one of
 * kiln's built-in hooks (a user hook of the same stage and name replaces it).
 * Hooks of a stage run after the stage's own work, in lexical order of name.
 * A name ending in `.chroot` runs inside the image (emulated when foreign);
 * the others run on the host side, as root of the build's namespace, with
 * the tree at $KILN_ROOT.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SETTING_KEYS, envName, fileNameProblem, type Config } from '../config/index.ts';
import { Tree } from '../tree/index.ts';
import { CommandError, UserError } from '../util/errors.ts';
import { outputLines, type Emit } from '../util/events.ts';
import { createInterface } from 'node:readline';
import { HOOK_STAGES, type HookStage } from './stages.ts';

export const HOOKS_DIR = 'hooks';

export interface Hook {
  stage: HookStage;
  /** File name, e.g. 10-motd or 20-users.chroot. */
  name: string;
  chroot: boolean;
  source: 'builtin' | 'directory' | 'inline';
  /** Where it was defined, for messages. */
  origin: string;
  /** The program: a file to run, or a shell script's text. */
  path?: string;
  script?: string;
  /** sha256 of the program: part of the stage key. */
  digest: string;
}

/**
 * kiln's own hooks: none today (what every image needs for reproducibility
 * and first boot is finalize's normalisation, src/normalise/). A built-in
 * runs natively through Tree; a user hook of the same stage and name
 * replaces one.
 */
export const BUILTIN_HOOKS: { stage: HookStage; name: string; run: (tree: Tree) => void }[] = [];

const digestOf = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** Every hook of the image, by stage then name. Problems in hooks/ are user errors. */
export function collectHooks(imageDir: string, config: Config): Hook[] {
  const byId = new Map<string, Hook>();
  for (const b of BUILTIN_HOOKS) {
    byId.set(`${b.stage}/${b.name}`, { stage: b.stage, name: b.name, chroot: false, source: 'builtin', origin: 'built-in', digest: digestOf(b.run.toString()) });
  }
  const user = new Map<string, Hook>();
  const add = (hook: Hook) => {
    const id = `${hook.stage}/${hook.name}`;
    const other = user.get(id);
    if (other) throw new UserError(`two hooks named ${id}: ${other.origin} and ${hook.origin}`, 'rename one of them');
    user.set(id, hook);
  };
  const hooksDir = join(imageDir, HOOKS_DIR);
  if (existsSync(hooksDir)) {
    for (const stage of readdirSync(hooksDir).sort()) {
      if (!(HOOK_STAGES as readonly string[]).includes(stage)) {
        throw new UserError(`${join(hooksDir, stage)}: no stage is called "${stage}"`, `hook directories are ${HOOK_STAGES.join(', ')}`);
      }
      for (const name of readdirSync(join(hooksDir, stage)).sort()) {
        if (name.startsWith('.') || name.endsWith('~')) continue;
        const path = join(hooksDir, stage, name);
        if (!statSync(path).isFile()) throw new UserError(`${path}: a hook must be a file`);
        add({ stage: stage as HookStage, name, chroot: name.endsWith('.chroot'), source: 'directory', origin: path, path, digest: digestOf(readFileSync(path)) });
      }
    }
  }
  for (const [i, h] of (config['hooks.inline'] ?? []).entries()) {
    const name = h.name ?? `inline-${i + 1}`;
    // The config check refuses such names already; a name is never a path, whatever reaches here.
    const wrong = fileNameProblem(name);
    if (wrong) throw new UserError(`[[hook]] name: ${wrong}`, 'a hook name is one file name, such as 10-motd');
    const chroot = h.chroot ?? name.endsWith('.chroot');
    add({ stage: h.stage, name, chroot, source: 'inline', origin: `[[hook]] ${name}`, script: h.run, digest: digestOf(`${chroot}\0${h.run}`) });
  }
  for (const [id, hook] of user) byId.set(id, hook);
  return [...byId.values()].sort((a, b) => HOOK_STAGES.indexOf(a.stage) - HOOK_STAGES.indexOf(b.stage) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every setting as KILN_SECTION_KEY (lists joined by spaces, tables as JSON). */
export function settingsEnvironment(config: Config): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of SETTING_KEYS) {
    const v = config[key];
    if (v === undefined || key === 'hooks.inline') continue;
    env[envName(key)] = Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(' ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return env;
}

export interface HookRunContext {
  root: string;
  emit: Emit;
  /** Environment every hook gets (settings, KILN_ROOT, directories). */
  env: Record<string, string>;
  /** Runs a command inside the image (emulated when foreign). */
  runInImage(argv: string[], opts: { env: Record<string, string>; source: string }): Promise<void>;
}

/** Runs the hooks of one stage in order; the first to fail stops the build. */
export async function runHooks(stage: HookStage, hooks: Hook[], ctx: HookRunContext): Promise<number> {
  const mine = hooks.filter((h) => h.stage === stage);
  for (const hook of mine) {
    const env = { ...ctx.env, KILN_STAGE: stage, KILN_HOOK: hook.name };
    const source = `hook ${stage}/${hook.name}`;
    const builtin = hook.source === 'builtin' ? BUILTIN_HOOKS.find((b) => b.stage === stage && b.name === hook.name) : undefined;
    if (builtin) builtin.run(new Tree(ctx.root));
    else if (hook.chroot) await runChrootHook(hook, ctx, env, source);
    else await runHostHook(hook, env, source, ctx.emit);
  }
  return mine.length;
}

/**
 * Where a chroot hook's program goes in the tree: a new file directly in the tree's /tmp (resolved
 * inside the tree, since packages made it), never a path a hook name could steer elsewhere.
 */
export function chrootHookPath(root: string, name: string): { inside: string; target: string } {
  const wrong = fileNameProblem(name);
  if (wrong) throw new UserError(`hook ${name}: ${wrong}`);
  const tmp = new Tree(root).hostPath('/tmp');
  const file = `.kiln-hook-${process.pid}-${name}`;
  // One file name (no '/', not '..') in a directory the tree resolved inside the root: it cannot be anywhere else.
  const target = join(tmp, file);
  return { inside: `${tmp.slice(root.length)}/${file}`, target };
}

async function runChrootHook(hook: Hook, ctx: HookRunContext, env: Record<string, string>, source: string): Promise<void> {
  const { inside } = chrootHookPath(ctx.root, hook.name);
  // Tree.write replaces whatever the tree left at this name (a link included), never writing through it.
  const tree = new Tree(ctx.root);
  tree.write(inside, hook.path ? readFileSync(hook.path) : (hook.script ?? ''), { mode: 0o755 });
  try {
    const argv = hook.path && isExecutable(hook.path) ? [inside] : ['/bin/sh', '-e', inside];
    await ctx.runInImage(argv, { env: { ...env, KILN_ROOT: '/' }, source }).catch((err: unknown) => {
      if (err instanceof CommandError) throw new CommandError(source, err.status, err.signal, err.tail);
      throw err;
    });
  } finally {
    tree.remove(inside);
  }
}

function isExecutable(path: string): boolean {
  return (statSync(path).mode & 0o111) !== 0;
}

/** A host-side hook: the file itself when executable, else (and for inline scripts) /bin/sh -e. */
export function runHostHook(hook: Hook, env: Record<string, string>, source: string, emit: Emit, cwd?: string): Promise<void> {
  const argv = hook.path ? (isExecutable(hook.path) ? [hook.path] : ['/bin/sh', '-e', hook.path]) : ['/bin/sh', '-e', '-c', hook.script ?? '', hook.name];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Whole lines, as runInRoot reads them: a line split across two reads stays one line.
    const output = outputLines(emit, source);
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', output.onLine);
    child.once('error', (err) => reject(new UserError(`${source}: cannot run ${hook.path ?? '/bin/sh'}: ${err.message}`)));
    child.once('close', (status, signal) => (status === 0 ? resolve() : reject(new CommandError(source, status, signal, output.tail))));
  });
}
