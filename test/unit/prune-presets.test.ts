import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, lstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeEntry, type FixtureEntry } from '../helpers/fixture-tree.ts';
import { DPKG_EXCLUDES, pruneStage } from '../../src/pipeline/prune.ts';
import { localeKept, PRUNE_PRESET_NAMES } from '../../src/pipeline/prune-presets.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { KilnEvent } from '../../src/util/events.ts';

const text = (n: number): FixtureEntry => ({ text: 'x'.repeat(n) });

/** A small Debian-like tree with something for every preset, and what must stay. */
async function fixture(t: { after(fn: () => void): void }): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'kiln-presets-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const entries: Record<string, FixtureEntry> = {
    'usr/share/doc/bash/copyright': text(100),
    'usr/share/doc/bash/changelog.Debian.gz': text(1000),
    'usr/share/doc/bash/examples/loadables/README': text(500),
    'usr/share/doc/libc6': { link: 'libc-bin' },
    'usr/share/info/bash.info.gz': text(300),
    'usr/share/man/man1/bash.1.gz': text(2000),
    'usr/share/man/de/man1/bash.1.gz': text(2100),
    'usr/share/locale/locale.alias': text(40),
    'usr/share/locale/de/LC_MESSAGES/bash.mo': text(700),
    'usr/share/locale/en_US/LC_MESSAGES/bash.mo': text(10),
    'usr/share/locale/en_GB/LC_MESSAGES/bash.mo': text(20),
    'usr/share/locale/sr@latin/LC_MESSAGES/bash.mo': text(30),
    'usr/include/stdio.h': text(50),
    'usr/lib/x86_64-linux-gnu/libc.a': text(4000),
    'usr/lib/x86_64-linux-gnu/libc.so.6': text(4096),
    'usr/lib/x86_64-linux-gnu/weird.a/keep': text(1),
    'var/cache/apk/APKINDEX.abc.tar.gz': text(60),
    'usr/lib/python3/dist-packages/foo/__pycache__/x.cpython-311.pyc': text(80),
    'usr/lib/python3.11/old.pyc': text(90),
    'usr/lib/python3.11/os.py': text(95),
    'etc/dpkg/dpkg.cfg.d': { dir: true },
    'bin/bash': text(10),
  };
  for (const [path, entry] of Object.entries(entries)) await writeEntry(root, path, entry);
  return root;
}

test('every preset removes what it says, keeps what it spares, and reports paths and bytes', async (t) => {
  const root = await fixture(t);
  // A hard link to a pruned file is counted once.
  linkSync(join(root, 'usr/share/man/man1/bash.1.gz'), join(root, 'usr/share/man/man1/sh.1.gz'));
  const events: KilnEvent[] = [];
  const results = await pruneStage(root, [...PRUNE_PRESET_NAMES], ['bin/bash'], { keepLocales: ['C', 'en_US'] }, (e) => events.push(e));
  const gone = (p: string) => lstatSync(join(root, p), { throwIfNoEntry: false }) === undefined;
  for (const p of ['usr/share/doc/bash/changelog.Debian.gz', 'usr/share/doc/bash/examples', 'usr/share/info/bash.info.gz', 'usr/share/man/man1', 'usr/share/man/de', 'usr/share/locale/de', 'usr/share/locale/en_GB', 'usr/share/locale/sr@latin', 'usr/include/stdio.h', 'usr/lib/x86_64-linux-gnu/libc.a', 'var/cache/apk/APKINDEX.abc.tar.gz', 'usr/lib/python3/dist-packages/foo/__pycache__', 'usr/lib/python3.11/old.pyc', 'bin/bash']) {
    assert.ok(gone(p), `${p} is removed`);
  }
  for (const p of ['usr/share/doc/bash/copyright', 'usr/share/doc/libc6', 'usr/share/locale/locale.alias', 'usr/share/locale/en_US/LC_MESSAGES/bash.mo', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/weird.a/keep', 'usr/lib/python3.11/os.py']) {
    assert.ok(!gone(p), `${p} stays`);
  }
  const by = Object.fromEntries(results.map((r) => [r.name, r]));
  assert.deepEqual(by.docs, { name: 'docs', paths: 5, bytes: 1800 }, 'changelog, examples/loadables/README (3 entries), info');
  assert.deepEqual(by.man, { name: 'man', paths: 6, bytes: 4100 }, 'two directories, two man1 names of one file, de/man1, its page');
  assert.deepEqual(by.locales, { name: 'locales', paths: 9, bytes: 750 });
  assert.deepEqual(by['static-libs'], { name: 'static-libs', paths: 1, bytes: 4000 });
  assert.deepEqual(by['python-bytecode'], { name: 'python-bytecode', paths: 3, bytes: 170 });
  assert.deepEqual(by['prune.remove'], { name: 'prune.remove', paths: 1, bytes: 10 });
  const lines = events.filter((e) => e.kind === 'log' && e.level === 'info').map((e) => (e as { message: string }).message);
  assert.ok(lines.includes('docs: 5 paths, 1.8 KiB'), lines.join('\n'));
  assert.ok(lines.includes('apk-cache: 1 paths, 60 B'));
});

test("in a tree with dpkg, the presets' path-exclude lines keep later installs pruned the same way", async (t) => {
  const root = await fixture(t);
  await pruneStage(root, ['docs', 'locales'], [], { keepLocales: ['en'] }, () => {});
  const cfg = readFileSync(join(root, DPKG_EXCLUDES), 'utf8').split('\n');
  assert.ok(cfg.indexOf('path-exclude=/usr/share/doc/*') < cfg.indexOf('path-include=/usr/share/doc/*/copyright'), 'the include after the exclude (the last match wins)');
  assert.ok(cfg.includes('path-exclude=/usr/share/locale/*/*') && cfg.includes('path-include=/usr/share/locale/en_*') && cfg.includes('path-include=/usr/share/locale/en/*'));
  assert.ok(existsSync(join(root, 'usr/share/locale/en_GB')), '"en" keeps en_GB');
  // No dpkg in the tree: no dpkg configuration written.
  const other = await fixture(t);
  rmSync(join(other, 'etc/dpkg'), { recursive: true });
  await pruneStage(other, ['docs'], [], { keepLocales: [] }, () => {});
  assert.ok(!existsSync(join(other, 'etc/dpkg')));
});

test('locale keep list: a name keeps itself and its territory, codeset and modifier variants', () => {
  assert.ok(localeKept('en_US.UTF-8', ['en_US']) && localeKept('en_US', ['en']) && localeKept('sr@latin', ['sr']) && localeKept('C.UTF-8', ['C']));
  assert.ok(!localeKept('eo', ['en']) && !localeKept('de_DE', ['en_US']) && !localeKept('en_GB', ['en_US']));
});

test('prune.presets is checked against the registry; prune.keep-locales defaults to C and en_US', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-presets-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ok = loadConfig({ dir, env: {}, sets: ['prune.presets=docs,man'] });
  assert.deepEqual(ok.config['prune.presets'], ['docs', 'man']);
  assert.deepEqual(ok.config['prune.keep-locales'], ['C', 'en_US']);
  assert.throws(() => loadConfig({ dir, env: {}, sets: ['prune.presets=doc'] }), /prune\.presets/);
});
