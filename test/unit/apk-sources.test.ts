/**
 * Tagged repositories in the configuration: an Alpine extra repository with
 * `tag` becomes `@tag URL` in /etc/apk/repositories (apk-repositories(5)); a
 * tag that apk could not read back after a name (`name@tag`) is one line, as
 * is a tag on a pacman repository, which has none.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { apkSources } from '../../src/formats/apk/sources.ts';
import { pacmanSources } from '../../src/formats/pacman/plan.ts';
import { UserError } from '../../src/util/errors.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function config(toml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-apk-sources-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'kiln.toml'), toml);
  return loadConfig({ dir, env: {} }).config;
}

const alpine = (tag: string) =>
  `[distribution]\nname = "alpine"\nrelease = "v3.21"\narchitecture = "x86_64"\nmirror = "http://127.0.0.1:9/alpine"\nrepositories = ["main"]\nkeyring = []\n` +
  `extra-repositories = [{ name = "edge-testing", server = "http://127.0.0.1:9/alpine/edge/testing", tag = ${JSON.stringify(tag)} }]\n`;

test('a tagged repository: its line is @tag URL, its packages are fetched from URL/$arch', () => {
  const [main, edge] = apkSources(config(alpine('edge')));
  assert.deepEqual([main?.line, main?.tag], ['http://127.0.0.1:9/alpine/v3.21/main', undefined]);
  assert.deepEqual([edge?.line, edge?.tag, edge?.url], ['@edge http://127.0.0.1:9/alpine/edge/testing', 'edge', 'http://127.0.0.1:9/alpine/edge/testing/x86_64']);
});

test('a tag apk cannot read after a name, or a tag on a pacman repository: one line', () => {
  for (const bad of ['@edge', 'ed ge', 'a@b']) {
    assert.throws(() => apkSources(config(alpine(bad))), (e: unknown) => e instanceof UserError && e.message === `distribution.extra-repositories: tag ${JSON.stringify(bad)} of edge-testing is not a repository tag`, bad);
  }
  const arch = config('[distribution]\nname = "archlinux"\narchitecture = "x86_64"\nmirror = "http://127.0.0.1:9/$repo/os/$arch"\nkeyring = []\nextra-repositories = [{ name = "mine", server = "http://127.0.0.1:9/mine/$arch", tag = "edge" }]\n');
  assert.throws(() => pacmanSources(arch), /mine has a tag, which only apk's repositories take/);
});
