/**
 * packages.base = "none": exactly packages.install, nothing implied; and an
 * unknown package says who asked for it (kiln's base set, a board, the line
 * of a configuration file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig } from '../../src/config/index.ts';
import { parsePackages } from '../../src/formats/deb/packages.ts';
import { resolveDependencies, selectBaseSet } from '../../src/formats/deb/resolve.ts';
import { resolvePacman } from '../../src/formats/pacman/resolve.ts';
import type { PacmanPackage } from '../../src/formats/pacman/types.ts';
import { throwsUserError } from '../helpers/fixtures.ts';

const DEB = parsePackages(
  [
    'Package: dash\nVersion: 1\nArchitecture: amd64\nEssential: yes\nPriority: required',
    'Package: libc6\nVersion: 2\nArchitecture: amd64\nPriority: required',
    'Package: apt\nVersion: 2.6\nArchitecture: amd64\nPriority: important',
    'Package: hello\nVersion: 3\nArchitecture: amd64\nPriority: optional\nDepends: libc6',
  ].join('\n\n'),
);

function image(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-base-none-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test('Debian: the "none" base set is empty: not even Essential packages or apt', () => {
  assert.deepEqual(selectBaseSet(DEB, 'none', 'amd64'), []);
  assert.deepEqual(selectBaseSet(DEB, 'essential', 'amd64'), ['dash']);
});

test('packages.base = "none" is accepted for every format', () => {
  for (const name of ['debian', 'archlinux']) {
    const dir = image({ 'kiln.toml': `[distribution]\nname = "${name}"\narchitecture = "${name === 'debian' ? 'amd64' : 'x86_64'}"\nmirror = "http://127.0.0.1:9/$repo"\nkeyring = []\n\n[packages]\nbase = "none"\ninstall = ["hello"]\n` });
    assert.equal(loadConfig({ dir, env: {} }).config['packages.base'], 'none');
  }
});

test('the config knows where each item of packages.install came from: file:line, profile file:line, board', () => {
  const dir = image({
    'kiln.toml': '[distribution]\nname = "debian"\nrelease = "bookworm"\nmirror = "http://127.0.0.1:9/debian"\n\n[board]\nname = "raspberrypi-4"\n\n[packages]\ninstall = { add = ["hello"] }\n',
    'profiles/dev.toml': '\n[packages]\ninstall = { add = ["gdb"] }\n',
  });
  const loaded = loadConfig({ dir, env: {}, profiles: ['dev'] });
  assert.deepEqual(loaded.itemOrigins['packages.install'], {
    'linux-image-arm64': 'board raspberrypi-4',
    'systemd-sysv': 'board raspberrypi-4',
    udev: 'board raspberrypi-4',
    'raspi-firmware': 'board raspberrypi-4',
    hello: `${relative(process.cwd(), join(dir, 'kiln.toml'))}:10`,
    gdb: `${relative(process.cwd(), join(dir, 'profiles/dev.toml'))}:3`,
  });
});

test('Debian: an unknown package says who asked for it', () => {
  throwsUserError(
    () => resolveDependencies({ universe: DEB, architectures: ['amd64'], want: ['helo'], origins: new Map([['helo', 'packages.install, kiln.toml:9']]) }),
    /^unknown package "helo" \(asked for by packages\.install, kiln\.toml:9\)$/,
    /did you mean: hello/,
  );
});

function pacmanPackage(name: string, depends: string[] = []): PacmanPackage {
  return {
    repo: 'private', name, version: '1-1', arch: 'any', filename: `${name}-1-1-any.pkg.tar.zst`, csize: 1, isize: 1, sha256: '', license: [], groups: [],
    depends, optdepends: [], makedepends: [], checkdepends: [], provides: [], conflicts: [], replaces: [],
  };
}

test('pacman: "base" missing from a repository is named as kiln\'s base set, with the way out', () => {
  const repositories = [{ name: 'private', packages: [pacmanPackage('busybox'), pacmanPackage('app', ['busybox', 'libfoo'])] }];
  const origins = new Map([['base', `Arch Linux's base set: packages.base = "minimal" (default); "none" installs exactly packages.install`]]);
  throwsUserError(() => resolvePacman({ repositories, targets: ['base', 'app'], origins }), /^unknown package or group "base" \(asked for by Arch Linux's base set: packages\.base = "minimal" \(default\); "none" installs exactly packages\.install\)$/);
  // A dependency that is missing: the chain, and who asked for its top.
  throwsUserError(
    () => resolvePacman({ repositories, targets: ['app'], origins: new Map([['app', 'packages.install, profiles/dev.toml:3']]) }),
    /^app requires libfoo, which no package provides$/,
    /app was asked for by packages\.install, profiles\/dev\.toml:3/,
  );
});
