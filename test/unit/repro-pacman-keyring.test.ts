/**
 * The Arch keyring is made on the image's first boot (keyring.ts): no local
 * master key is built into the image, so two build machines give the same
 * tree, and every booted machine makes its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEYRING_UNIT, prepareKeyring } from '../../src/formats/pacman/keyring.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-repro-keyring-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('no keyring in the image; a unit, enabled, makes it on first boot from the keyrings the packages ship', () => {
  const root = tree({ 'usr/share/pacman/keyrings/archlinux.gpg': 'keys', 'usr/share/pacman/keyrings/archlinux-trusted': '', 'etc/pacman.d/gnupg/pubring.kbx': 'from a package' });
  assert.match(prepareKeyring(root), /^archlinux: made on first boot \(pacman-init\.service\)$/);
  assert.equal(existsSync(join(root, 'etc/pacman.d/gnupg')), false, 'nothing of a keyring is built in');
  const unit = readFileSync(join(root, KEYRING_UNIT), 'utf8');
  assert.match(unit, /^ConditionDirectoryNotEmpty=!\/etc\/pacman\.d\/gnupg$/m, 'once: only while there is no keyring');
  assert.match(unit, /^ExecStart=\/usr\/bin\/pacman-key --init\nExecStart=\/usr\/bin\/pacman-key --populate$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
  assert.equal(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/pacman-init.service')), '../pacman-init.service', 'enabled as systemctl enable would');
  // A second run (a rebuilt stage) leaves the same tree.
  prepareKeyring(root);
  assert.equal(readFileSync(join(root, KEYRING_UNIT), 'utf8'), unit);
});

test('a keyring link a package left is removed as a link, never followed out of the tree', () => {
  const outside = mkdtempSync(join(tmpdir(), 'kiln-repro-keyring-outside-'));
  writeFileSync(join(outside, 'keep'), 'x');
  const root = tree({ 'usr/share/pacman/keyrings/archlinuxarm.gpg': 'keys' });
  mkdirSync(join(root, 'etc/pacman.d'), { recursive: true });
  symlinkSync(outside, join(root, 'etc/pacman.d/gnupg'));
  // The unit's own names, links out too: the unit file a link to a file outside, the wants directory a link to a directory outside.
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  symlinkSync(join(outside, 'keep'), join(root, KEYRING_UNIT));
  symlinkSync(outside, join(root, 'etc/systemd/system/multi-user.target.wants'));
  prepareKeyring(root);
  assert.equal(lstatSync(join(root, 'etc/pacman.d/gnupg'), { throwIfNoEntry: false }), undefined);
  assert.ok(lstatSync(join(root, KEYRING_UNIT)).isFile(), 'the link was replaced by the unit');
  assert.equal(readFileSync(join(outside, 'keep'), 'utf8'), 'x');
  assert.deepEqual(readdirSync(outside), ['keep'], 'nothing written through the wants link');
});

test('without a keyring package there is nothing to make and no unit', () => {
  const root = tree({ 'etc/hostname': 'box\n' });
  assert.equal(prepareKeyring(root), 'no keyring package in the tree');
  assert.equal(existsSync(join(root, KEYRING_UNIT)), false);
});
