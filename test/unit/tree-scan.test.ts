/**
 * Every native access to a tree that packages filled goes through src/tree:
 * a path built by hand from the root (`join(root, ...)`, `${root}/...`) or
 * resolved with resolveInRoot and then handed to fs could follow a symlink
 * out of the tree or block on a FIFO. This scan fails when one appears
 * anywhere else in src/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(import.meta.dirname, '../../src');

/** Files that may build tree paths themselves, and why. Keep it short. */
const ALLOWED: Record<string, string> = {
  'src/archive/resolve.ts': 'the resolver itself: component-wise lstat, links re-rooted, `..` kept inside',
  'src/archive/extract.ts': 'the package extractor: resolves every entry component-wise on its own and never writes through a link',
  'src/archive/tree-tar.ts': 'writes the finished tree as a tar: walks it with lstat and readlink only, never following a link or opening a non-file',
};

const PATTERNS: [RegExp, string][] = [
  [/\bjoin\(\s*(?:[a-z]+\.)?root\b/i, 'join(root, ...)'],
  [/\$\{\s*(?:[a-z]+\.)?root\s*\}\//i, '`${root}/...`'],
  [/\b(?:[a-z]+\.)?root\s*\+\s*['"`]\//i, "root + '/...'"],
  [/\bresolve(?:InRoot|Parts)\(/, 'resolveInRoot(...) (use Tree, which also opens the final component O_NOFOLLOW)'],
];

/** The hand-built tree paths in a file's text, as "line: what". */
export function rawTreePaths(text: string): string[] {
  const out: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const code = line.replace(/\/\/.*$/, '').replace(/^\s*\*.*$/, '');
    for (const [re, what] of PATTERNS) if (re.test(code)) out.push(`${i + 1}: ${what}: ${line.trim()}`);
  }
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('the scan recognises the raw tree accesses it exists to catch', () => {
  for (const line of [
    "await writeFile(join(root, 'etc/hostname'), name);",
    "await rm(join(ctx.root, 'tmp/x'), { force: true });",
    'readFileSync(`${root}/etc/passwd`);',
    "chmod(root + '/tmp', 0o1777);",
    "const p = resolveInRoot(root, 'etc/shadow');",
  ]) {
    assert.equal(rawTreePaths(line).length, 1, line);
  }
  assert.deepEqual(rawTreePaths("tree.write('etc/hostname', name); // not join(root, x)\nconst hooksDir = join(imageDir, HOOKS_DIR);"), []);
});

test('no file outside src/tree builds a tree path by hand', () => {
  const found: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(join(SRC, '..'), file);
    if (rel.startsWith('src/tree/') || rel in ALLOWED) continue;
    for (const hit of rawTreePaths(readFileSync(file, 'utf8'))) found.push(`${rel}:${hit}`);
  }
  assert.deepEqual(found, [], 'read and write tree paths through Tree (src/tree), which stays inside the root and opens no FIFO');
});

test('every allow-listed file still exists and still needs its entry', () => {
  for (const rel of Object.keys(ALLOWED)) {
    assert.ok(rawTreePaths(readFileSync(join(SRC, '..', rel), 'utf8')).length > 0, `${rel} no longer builds tree paths: drop it from the allow-list`);
  }
});
