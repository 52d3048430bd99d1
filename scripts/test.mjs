// Runs the test files given on the command line with node --test, in a
// temporary directory of their own (TMPDIR) that is removed afterwards,
// whatever the outcome: a test that forgets a directory, or is killed
// before its cleanup runs, leaves nothing behind in /tmp. Built images are
// large; hundreds of runs once filled the disk this way.
// KILN_KEEP_TEST_TMP=1 keeps the directory (its path is printed) to look into.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'kiln-test-run-'));
// The unprivileged test user writes here too (the tests run kiln as that user).
chmodSync(dir, 0o1777);
const keep = process.env.KILN_KEEP_TEST_TMP === '1';
const cleanup = () => {
  if (keep) process.stderr.write(`test temporaries kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
};

const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TMPDIR: dir },
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 128 : 1));
});
