/**
 * The one-sandbox script driver: every word reaches the script as it was
 * given (quotes, `$`, backquotes, newlines), each step's environment and
 * input are its own, and failures stop the batch or are recorded. The
 * script it writes is run here with the host's /bin/sh.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { batchScript, parseFailures, shellQuote, type ScriptBatch } from '../../src/formats/script-batch.ts';

function runHere(batch: ScriptBatch, t: { after(fn: () => unknown): void }) {
  const work = mkdtempSync(join(tmpdir(), 'kiln-script-batch-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const { script, files } = batchScript(batch, work);
  for (const [path, text] of files) writeFileSync(path, text);
  const run = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' } });
  return { ...run, failures: parseFailures(batch, readFileSync(join(work, 'failed'), 'utf8')) };
}

const hostile = [`it's`, '$HOME', '`echo no`', '$(echo no)', 'two\nlines', '"double"', '\\back', ' spaced ', '*', ''];

test('shellQuote keeps every word as it is', () => {
  for (const word of hostile) {
    const out = spawnSync('/bin/sh', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' }).stdout;
    assert.equal(out, word);
  }
});

test('argv, environment and input of each step reach the command unchanged', (t) => {
  const argv = ['/bin/sh', '-c', 'printf "[%s]" "$@"; printf "{%s}" "$KILN_X"; cat', 'sh', ...hostile];
  const r = runHere({ steps: [{ banner: `:: it's $HOME`, command: { argv, env: { KILN_X: `a'b $HOME` }, stdin: 'in`put`\n' }, label: 'one' }], onFailure: 'record' }, t);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `:: it's $HOME\n${hostile.map((w) => `[${w}]`).join('')}{a'b $HOME}in\`put\`\n`);
  assert.deepEqual(r.failures, []);
});

test('record: failures are kept with their status and the rest still runs', (t) => {
  const batch: ScriptBatch = {
    steps: [
      { command: { shell: 'exit 3' }, label: 'first' },
      { command: { shell: 'cd /; echo second ran' }, label: 'second' },
      { command: { argv: ['/bin/sh', '-c', 'exit 5'] }, label: 'third' },
    ],
    onFailure: 'record',
  };
  const r = runHere(batch, t);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'second ran\n');
  assert.deepEqual(r.failures.map((f) => [f.step.label, f.status]), [['first', 3], ['third', 5]]);
});

test('stop: the first failure ends the batch with its label and status', (t) => {
  const batch: ScriptBatch = {
    steps: [
      { command: { argv: ['/bin/sh', '-c', 'exit 4'] }, label: `preinst of it's` },
      { command: { shell: 'echo must not run' }, label: 'second' },
    ],
    onFailure: 'stop',
    preamble: ['set -u'],
  };
  const r = runHere(batch, t);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, `preinst of it's failed with status 4\n`);
});

test('an environment name that is not one is refused, not passed to sh', () => {
  assert.throws(() => batchScript({ steps: [{ command: { argv: ['true'], env: { 'A;rm': 'x' } }, label: 'x' }], onFailure: 'stop' }, '/w'), /not an environment variable name/);
});
