/** missingTools names the Debian packages to install, including the files a tool needs besides its binary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingTools, skipOrFail, type HostLookup } from '../helpers/host-tools.ts';

/** A host on which every tool is on PATH and every file exists except those named. */
function host(opts: { absentTools?: string[]; absentFiles?: (path: string) => boolean } = {}): HostLookup {
  return {
    onPath: (tool) => (opts.absentTools?.includes(tool) ? undefined : `/usr/bin/${tool}`),
    fileExists: (path) => !opts.absentFiles?.(path),
  };
}

test('repo-add without makepkg\'s scripts is missing, and the message says to install makepkg', () => {
  const reason = missingTools(['repo-add', 'bsdtar'], host({ absentFiles: (p) => p.startsWith('/usr/share/makepkg/') }));
  assert.equal(reason, 'repo-add missing: install pacman-package-manager and makepkg');
});

test('every tool present with its files: nothing missing', () => {
  assert.equal(missingTools(['repo-add', 'bsdtar', 'dpkg-deb'], host()), undefined);
});

test('each missing tool is named once and each package once', () => {
  const reason = missingTools(['pacman', 'vercmp', 'bsdtar', 'zstd'], host({ absentTools: ['pacman', 'vercmp', 'bsdtar'] }));
  assert.equal(reason, 'pacman, vercmp, bsdtar missing: install pacman-package-manager, libarchive-tools');
});

test('skipOrFail passes a reason through, and under KILN_TEST_STRICT throws it', () => {
  const saved = process.env.KILN_TEST_STRICT;
  try {
    delete process.env.KILN_TEST_STRICT;
    assert.equal(skipOrFail('zstd missing: install zstd'), 'zstd missing: install zstd');
    process.env.KILN_TEST_STRICT = '1';
    assert.equal(skipOrFail(undefined), undefined);
    assert.throws(() => skipOrFail('zstd missing: install zstd'), /^Error: zstd missing: install zstd \(KILN_TEST_STRICT is set: every test must run\)$/);
  } finally {
    if (saved === undefined) delete process.env.KILN_TEST_STRICT;
    else process.env.KILN_TEST_STRICT = saved;
  }
});
