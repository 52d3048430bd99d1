/**
 * Package scripts run as one batch: one sandbox, one shell, every script in
 * turn. Under emulation, starting the sandbox and a shell costs more than
 * most scripts, so dpkg's preinsts (preinst.ts), pacman's scriptlets and
 * ALPM hooks (transaction.ts), and apk's scripts and triggers next, each
 * hand their list of steps to this driver instead of running one command a
 * script. Every word is quoted for sh here, once. A step's failure either
 * ends the batch and fails the build (`stop`, as dpkg) or is recorded and
 * returned while the rest still run (`record`, as pacman). The batch's
 * environment (SOURCE_DATE_EPOCH among it) is given by InstallContext.run,
 * for every format at once (treeCommandEnvironment in
 * pipeline/inside-build.ts): apk's scripts and triggers get it by running
 * through here too.
 */
import { Tree } from '../tree/index.ts';
import type { InstallContext, RunInTreeOptions } from './types.ts';

/** A command the driver runs: a program with its arguments (with extra environment and an input), or shell text run in a subshell of its own. */
export type ScriptCommand = { argv: string[]; env?: Record<string, string>; stdin?: string } | { shell: string };

export interface ScriptStep {
  /** A line printed before the step (e.g. `:: bash post_install`). */
  banner?: string;
  command: ScriptCommand;
  /** What failed, in the failure line (`preinst of base-files`). */
  label: string;
  /** The package or hook the step belongs to: the prefix of its log lines. */
  source?: string;
}

export interface ScriptBatch {
  steps: ScriptStep[];
  onFailure: 'stop' | 'record';
  /** Shell lines before the first step (e.g. `umask 022`). */
  preamble?: string[];
}

export interface StepFailure {
  step: ScriptStep;
  status: number;
}

/** A word for sh, in single quotes. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The batch's shell script, and the files it reads (stdin of steps, by path),
 * with `workDir` (as the script sees it) holding them and the failure record.
 */
export function batchScript(batch: ScriptBatch, workDir: string): { script: string; files: Map<string, string> } {
  const files = new Map<string, string>();
  const failed = `${workDir}/failed`;
  const lines = [...(batch.preamble ?? []), `: > ${shellQuote(failed)}`];
  for (const [i, step] of batch.steps.entries()) {
    if (step.banner !== undefined) lines.push(`echo ${shellQuote(step.banner)}`);
    const onFailure =
      batch.onFailure === 'stop'
        ? `{ echo ${shellQuote(`${step.label} failed with status`)} "$?"; exit 1; }`
        : `echo ${i} "$?" >> ${shellQuote(failed)}`;
    lines.push(`${commandText(step.command, `${workDir}/stdin-${i}`, files)} || ${onFailure}`);
  }
  return { script: lines.join('\n') + '\n', files };
}

function commandText(command: ScriptCommand, stdinPath: string, files: Map<string, string>): string {
  if ('shell' in command) return `( ${command.shell}\n)`;
  const env = Object.entries(command.env ?? {}).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`not an environment variable name: ${JSON.stringify(name)}`);
    return `${name}=${shellQuote(value)} `;
  });
  let text = env.join('') + command.argv.map(shellQuote).join(' ');
  if (command.stdin !== undefined) {
    files.set(stdinPath, command.stdin);
    text += ` < ${shellQuote(stdinPath)}`;
  }
  return text;
}

/** The step numbers and statuses the batch recorded, from its failure record. */
export function parseFailures(batch: ScriptBatch, record: string): StepFailure[] {
  return record
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [index, status] = line.split(' ').map(Number) as [number, number];
      return { step: batch.steps[index] as ScriptStep, status };
    });
}

/**
 * Runs the batch inside the tree with /bin/sh. Its files live in a private
 * directory, `work` (relative to the root, under /tmp; one per batch that
 * runs at the same time), made afresh and removed afterwards. With `stop`, a
 * failure rejects; with `record`, the failed steps are returned.
 */
export async function runScriptBatch(ctx: Pick<InstallContext, 'root' | 'run'>, batch: ScriptBatch, work: string, opts: RunInTreeOptions = {}): Promise<StepFailure[]> {
  if (batch.steps.length === 0) return [];
  const tree = new Tree(ctx.root);
  tree.remove(work, { recursive: true });
  tree.mkdir(work, { mode: 0o700 });
  try {
    const { script, files } = batchScript(batch, `/${work}`);
    for (const [path, text] of files) tree.write(path, text);
    tree.write(`${work}/run.sh`, script);
    await ctx.run(['/bin/sh', `/${work}/run.sh`], { ...opts, packageScripts: true });
    return parseFailures(batch, tree.readTextIfExists(`${work}/failed`) ?? '');
  } finally {
    tree.remove(work, { recursive: true });
  }
}
