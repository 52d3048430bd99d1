import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRunlevels, initSystemOf, parseService } from '../../src/pipeline/services/index.ts';
import { UserError } from '../../src/util/errors.ts';

/** An OpenRC tree as Alpine's openrc package leaves it: openrc-run, init scripts, the five runlevels. */
function openrcTree(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-openrc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'sbin'), { recursive: true });
  writeFileSync(join(root, 'sbin/openrc-run'), '');
  mkdirSync(join(root, 'etc/init.d'), { recursive: true });
  for (const s of ['sshd', 'networking', 'hwclock', 'devfs', 'killprocs']) writeFileSync(join(root, 'etc/init.d', s), '#!/sbin/openrc-run\n', { mode: 0o755 });
  for (const l of ['boot', 'default', 'nonetwork', 'shutdown', 'sysinit']) mkdirSync(join(root, 'etc/runlevels', l), { recursive: true });
  return root;
}

const noEmit = () => {};
const link = (root: string, rel: string) => readlinkSync(join(root, rel));
const exists = (root: string, rel: string) => lstatSync(join(root, rel), { throwIfNoEntry: false }) !== undefined;

test('an OpenRC tree without systemctl is found to be OpenRC; one with systemctl is systemd', (t) => {
  const root = openrcTree(t);
  assert.equal(initSystemOf(root)?.name, 'OpenRC');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/systemctl'), '');
  assert.equal(initSystemOf(root)?.name, 'systemd');
  const bare = mkdtempSync(join(tmpdir(), 'kiln-noinit-'));
  t.after(() => rmSync(bare, { recursive: true, force: true }));
  assert.equal(initSystemOf(bare), undefined);
});

test('services are linked into their runlevels as rc-update add links them: /etc/init.d/NAME, absolute', (t) => {
  const root = openrcTree(t);
  applyRunlevels(root, { enable: ['sshd', 'networking@boot', 'devfs@sysinit', 'killprocs@shutdown'], disable: [] }, noEmit);
  assert.equal(link(root, 'etc/runlevels/default/sshd'), '/etc/init.d/sshd');
  assert.equal(link(root, 'etc/runlevels/boot/networking'), '/etc/init.d/networking');
  assert.equal(link(root, 'etc/runlevels/sysinit/devfs'), '/etc/init.d/devfs');
  assert.equal(link(root, 'etc/runlevels/shutdown/killprocs'), '/etc/init.d/killprocs');
  assert.ok(!exists(root, 'etc/runlevels/default/networking'));
  // Enabling again changes nothing (rc-update: already installed).
  applyRunlevels(root, { enable: ['sshd'], disable: [] }, noEmit);
  assert.equal(link(root, 'etc/runlevels/default/sshd'), '/etc/init.d/sshd');
});

test('disabling NAME@LEVEL removes that link; a plain NAME leaves no runlevel with it', (t) => {
  const root = openrcTree(t);
  symlinkSync('/etc/init.d/hwclock', join(root, 'etc/runlevels/boot/hwclock'));
  symlinkSync('/etc/init.d/hwclock', join(root, 'etc/runlevels/default/hwclock'));
  symlinkSync('/etc/init.d/sshd', join(root, 'etc/runlevels/default/sshd'));
  applyRunlevels(root, { enable: [], disable: ['sshd@default'] }, noEmit);
  assert.ok(!exists(root, 'etc/runlevels/default/sshd'));
  applyRunlevels(root, { enable: [], disable: ['hwclock'] }, noEmit);
  assert.ok(!exists(root, 'etc/runlevels/boot/hwclock'));
  assert.ok(!exists(root, 'etc/runlevels/default/hwclock'));
  assert.ok(exists(root, 'etc/init.d/hwclock'), 'the script itself stays');
});

test('an unknown service, an unknown runlevel and a malformed name are one UserError line each', (t) => {
  const root = openrcTree(t);
  assert.throws(() => applyRunlevels(root, { enable: ['nginx'], disable: [] }, noEmit), (err: Error) => err instanceof UserError && /no OpenRC service "nginx" \(no \/etc\/init\.d\/nginx\)/.test(err.message) && !err.message.includes('\n'));
  assert.throws(() => applyRunlevels(root, { enable: ['sshd@single'], disable: [] }, noEmit), (err: Error) => err instanceof UserError && /no OpenRC runlevel "single"/.test(err.message) && /boot, default/.test(err.hint ?? ''));
  assert.throws(() => parseService('../x@boot', 'services.enable'), UserError);
  assert.throws(() => parseService('sshd@', 'services.enable'), UserError);
  assert.deepEqual(parseService('sshd@boot', 'services.enable'), { name: 'sshd', level: 'boot' });
  assert.ok(!exists(root, 'etc/runlevels/default/nginx'));
});
