/**
 * Fixture trees for confinement tests: BASE/root is the tree, BASE/decoy
 * holds files and directories outside it that a hostile package's symlinks
 * point at. A snapshot of everything outside the tree shows whether any of
 * it was written, chmodded, created or deleted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';

/** What a decoy file holds: lines that parse as passwd, shadow, group, locale.gen and keyboard files, so old code would go on and write. */
export const DECOY_TEXT = 'root:x:0:0:root:/root:/bin/sh\nXKBLAYOUT="us"\n# en_US.UTF-8 UTF-8\n';

export interface DecoyFixture {
  base: string;
  root: string;
  decoy: string;
  /** Makes `rel` in the tree a symlink to the decoy `name` (created as a file, or a directory with files when `dir`). */
  plant(rel: string, name: string, how: 'absolute' | 'relative', dir?: boolean): void;
  /** Everything outside the tree: path -> type, mode, content or target. */
  snapshot(): Map<string, string>;
}

export function decoyFixture(t: TestContext): DecoyFixture {
  const base = mkdtempSync(join(tmpdir(), 'kiln-decoy-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const decoy = join(base, 'decoy');
  mkdirSync(root);
  mkdirSync(decoy);
  return {
    base,
    root,
    decoy,
    plant(rel, name, how, dir = false) {
      const target = join(decoy, name);
      if (!existsSync(target)) {
        if (dir) {
          mkdirSync(target, { recursive: true, mode: 0o750 });
          for (const f of ['random-seed', 'machine-id', 'keep']) writeFileSync(join(target, f), DECOY_TEXT, { mode: 0o640 });
        } else {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, DECOY_TEXT, { mode: 0o600 });
        }
      }
      const link = join(root, rel);
      mkdirSync(dirname(link), { recursive: true });
      rmSync(link, { recursive: true, force: true });
      // Relative: enough ../ to reach the host's / from any depth, then the decoy's absolute path.
      symlinkSync(how === 'absolute' ? target : '../'.repeat(24) + target.slice(1), link);
    },
    snapshot() {
      const out = new Map<string, string>();
      const visit = (abs: string, rel: string) => {
        const st = lstatSync(abs);
        const what = st.isSymbolicLink() ? `link ${readlinkSync(abs)}` : st.isFile() ? `file ${readFileSync(abs).toString('hex')}` : st.isDirectory() ? 'dir' : `other ${st.mode}`;
        out.set(rel, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
        if (st.isDirectory()) for (const name of readdirSync(abs).sort()) if (rel !== '' || name !== 'root') visit(join(abs, name), `${rel}/${name}`);
      };
      visit(base, '');
      return out;
    },
  };
}

/** A FIFO at `rel` in the tree (its directories made). */
export function plantFifo(root: string, rel: string): void {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
}

/**
 * Unblocks anything stuck opening, reading or writing `fifo` after a
 * generous grace period (so a hang shows up as a failure, not as a test run
 * that never ends), and says whether it had to.
 */
export function fifoGuard(t: TestContext, fifo: string, graceSeconds = 20): { fired(): boolean } {
  const marker = `${fifo}.guard-fired`;
  const script = `sleep ${graceSeconds}; : > "$2"; while :; do exec 3<>"$1"; sleep 0.1; exec 3>&-; sleep 0.1; done`;
  const child = spawn('sh', ['-c', script, 'sh', fifo, marker], { stdio: 'ignore', detached: true });
  t.after(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      /* already gone */
    }
  });
  return { fired: () => existsSync(marker) };
}
