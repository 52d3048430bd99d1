/** Installed relations of pacman and apk trees made here (deb's are in image-inventory.test.ts): what the SBOMs' dependency graph says. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FORMATS } from '../../src/formats/index.ts';
import { bootTree } from './boot-tree.ts';

const desc = (fields: Record<string, string[]>) => Object.entries(fields).map(([k, v]) => `%${k}%\n${v.join('\n')}\n`).join('\n');

test('pacman: %DEPENDS% resolve to the package of that name, else to a provider; versioned ones only through a versioned provision', () => {
  const t = bootTree({
    'var/lib/pacman/local/ALPM_DB_VERSION': '9\n',
    'var/lib/pacman/local/glibc-2.38-1/desc': desc({ NAME: ['glibc'], VERSION: ['2.38-1'] }),
    'var/lib/pacman/local/readline-8.2-1/desc': desc({ NAME: ['readline'], VERSION: ['8.2-1'], PROVIDES: ['libreadline.so=8-64'], DEPENDS: ['glibc', 'ncurses'] }),
    'var/lib/pacman/local/bash-5.2-1/desc': desc({ NAME: ['bash'], VERSION: ['5.2-1'], PROVIDES: ['sh'], DEPENDS: ['readline>=8.0', 'libreadline.so=8-64', 'glibc>=2.39', 'bash'] }),
    'var/lib/pacman/local/tool-1-1/desc': desc({ NAME: ['tool'], VERSION: ['1-1'], DEPENDS: ['sh', 'sh>=5'], OPTDEPENDS: ['glibc: not a dependency'] }),
  });
  try {
    assert.deepEqual(Object.fromEntries(FORMATS.pacman.database.dependencies(t.root)), {
      bash: ['readline'],
      glibc: [],
      readline: ['glibc'],
      tool: ['bash'],
    });
  } finally {
    t.done();
  }
});

test('apk: D: atoms resolve by name or through p: (so:, cmd:, /bin/sh), with their versions; conflicts are not dependencies', () => {
  const record = (fields: [string, string][]) => fields.map(([k, v]) => `${k}:${v}`).join('\n') + '\n';
  const t = bootTree({
    'lib/apk/db/installed': [
      record([['C', 'Q1aaaa='], ['P', 'musl'], ['V', '1.2.5-r0'], ['A', 'x86_64'], ['p', 'so:libc.musl-x86_64.so.1=1']]),
      record([['C', 'Q1bbbb='], ['P', 'busybox'], ['V', '1.36.1-r29'], ['A', 'x86_64'], ['D', 'so:libc.musl-x86_64.so.1'], ['p', 'cmd:sh=1.36.1-r29']]),
      record([['C', 'Q1cccc='], ['P', 'busybox-binsh'], ['V', '1.36.1-r29'], ['A', 'x86_64'], ['D', 'busybox=1.36.1-r29'], ['p', '/bin/sh']]),
      record([['C', 'Q1dddd='], ['P', 'alpine-baselayout'], ['V', '3.6.5-r0'], ['A', 'x86_64'], ['D', '/bin/sh !musl-dev cmd:sh>2 busybox<1']]),
    ].join('\n'),
  });
  try {
    assert.deepEqual(Object.fromEntries(FORMATS.apk.database.dependencies(t.root)), {
      'alpine-baselayout': ['busybox-binsh'],
      busybox: ['musl'],
      'busybox-binsh': ['busybox'],
      musl: [],
    });
  } finally {
    t.done();
  }
});
