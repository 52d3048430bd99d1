/** The message for an empty distribution.keyring says why it is empty. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { whyNoKeyring } from '../../src/formats/pacman/verify.ts';

const HOST = ['/usr/share/keyrings/archlinux.gpg', '/usr/share/pacman/keyrings/archlinux.gpg'];

test('an empty keyring on a host that has the distribution keyring: set so, not missing', () => {
  const message = whyNoKeyring(HOST, (p) => p === HOST[0]);
  assert.doesNotMatch(message, /has no/);
  assert.match(message, /distribution\.keyring is set to \[\].*\/usr\/share\/keyrings\/archlinux\.gpg/);
});

test('an empty keyring on a host without one: the host has none', () => {
  assert.match(whyNoKeyring(HOST, () => false), /this host has no \/usr\/share\/keyrings\/archlinux\.gpg or \/usr\/share\/pacman\/keyrings\/archlinux\.gpg/);
});
