/**
 * Loading a CLI module runs nothing: the verbs and the program can be
 * imported (by tests, by another entry point) without starting kiln on the
 * importer's process.argv. Only src/cli/main.ts runs the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const MODULES = ['build', 'cache', 'config', 'diff', 'doctor', 'inspect', 'lock', 'shell', 'image-options', 'program'];

/** Runs `script` as an ES module in a fresh node with tsx, from the repository. */
function node(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('importing any CLI module other than main.ts prints nothing and exits nothing', () => {
  const imports = MODULES.map((m) => `await import('./src/cli/${m}.ts');`).join(' ');
  const r = node(`${imports} process.stdout.write('imported');`);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'imported');
  assert.equal(r.status, 0);
});

test('runCli takes its argv and resolves to the exit code: 0 for --version, 2 for an unknown verb', () => {
  const r = node(
    `const { runCli } = await import('./src/cli/program.ts');` +
      `const version = await runCli(['node', 'kiln', '--version']);` +
      `const unknown = await runCli(['node', 'kiln', 'no-such-verb']);` +
      `process.stdout.write(' codes ' + version + ' ' + unknown);`,
  );
  assert.match(r.stdout, /^\d+\.\d+\.\d+.*\n codes 0 2$/s);
  assert.match(r.stderr, /unknown command 'no-such-verb'/);
  assert.equal(r.status, 0);
});
