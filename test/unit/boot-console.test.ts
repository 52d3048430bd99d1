import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleScript, runLine, type ConsoleStep } from '../../src/boot/console-script.ts';
import { chooseAccelerator, probeFirmware } from '../../src/boot/kvm.ts';
import { qemuArgs } from '../../src/boot/qemu.ts';
import { BOARDS } from '../../src/catalog/index.ts';

/** Feeds the script `pieces` one at a time, typing nothing back; returns every step. */
const feedAll = (script: ConsoleScript, pieces: string[]): ConsoleStep[] => pieces.flatMap((p) => script.feed(p));

test('--expect: done only once the text has appeared, even split across pieces', () => {
  const script = new ConsoleScript({ expect: 'login:' });
  assert.deepEqual(feedAll(script, ['[  OK  ] Started getty\r\n', 'debian log']), []);
  assert.equal(script.feed('in: ')[0]?.kind, 'done');
});

test('--login/--run: user at login:, password at Password:, the command at the prompt, its output between the markers', () => {
  const script = new ConsoleScript({ login: { user: 'root', password: 'pw' }, run: 'findmnt -no UUID /' });
  assert.deepEqual(script.feed('\x1b[0;32m  OK  \x1b[0m] Reached target Login Prompts.\r\n\r\ndebian login: '), [{ kind: 'send', text: 'root\n' }]);
  assert.deepEqual(script.feed('root\r\nPass'), []);
  assert.deepEqual(script.feed('word: '), [{ kind: 'send', text: 'pw\n' }]);
  assert.deepEqual(script.feed('\r\nLinux debian 6.1.0\r\n# comment in the motd\r\n\x1b[?2004hroot@debian:~# '), [{ kind: 'send', text: runLine('findmnt -no UUID /') }]);
  // The echo of the typed line must not count as the markers.
  assert.deepEqual(script.feed(runLine('findmnt -no UUID /').replace('\n', '\r\n')), []);
  assert.deepEqual(script.feed('\x1b[?2004l@@KILN-BEGIN@@\r\ne999d84b\r\n@@KILN-E'), []);
  const [done] = script.feed('ND@@ 0\r\nroot@debian:~# ');
  assert.deepEqual(done, { kind: 'done', code: 0, message: 'ran the command as root; it exited with 0', output: 'e999d84b\n', status: 0 });
});

test('--login: a wrong password ends it with 1', () => {
  const script = new ConsoleScript({ login: { user: 'root', password: 'bad' }, run: 'true' });
  feedAll(script, ['debian login: ', 'Password: ']);
  const [done] = script.feed('\r\nLogin incorrect\r\ndebian login: ');
  assert.equal(done?.kind === 'done' && done.code, 1);
});

test('KVM only when the machine is the host, /dev/kvm opens and the probe guest runs; else TCG with the reason', async () => {
  let probed = 0;
  const facts = { hostMachine: 'x86_64', guestMachine: 'x86_64', deviceProblem: undefined, probe: async () => (probed++, undefined) };
  assert.deepEqual(await chooseAccelerator(facts), { accel: 'kvm' });
  assert.deepEqual(await chooseAccelerator({ ...facts, probe: async () => '"KVM internal error" on the first x87 instruction' }), {
    accel: 'tcg',
    why: 'KVM does not run guests here ("KVM internal error" on the first x87 instruction)',
  });
  assert.deepEqual(await chooseAccelerator({ ...facts, deviceProblem: '/dev/kvm does not exist' }), { accel: 'tcg', why: '/dev/kvm does not exist' });
  assert.match((await chooseAccelerator({ ...facts, guestMachine: 'aarch64' })).accel, /tcg/);
  assert.equal(probed, 1, 'the probe runs only when the other facts allow KVM');
  const image = probeFirmware();
  assert.equal(image.length, 65536);
  assert.deepEqual([...image.subarray(0xfff0, 0xfff3)], [0xdb, 0xe3, 0x9b], 'fninit; fwait at the reset vector');
});

test('QEMU arguments: firmware code read-only, variables copy writable, -snapshot, no network unless a port is forwarded', () => {
  const qemu = BOARDS['x86_64-uefi'].qemu!;
  const args = qemuArgs({ qemu, disk: '/d/image.raw', diskFormat: 'raw', accel: 'tcg', memory: '1G', snapshot: true, variables: '/t/VARS.fd' });
  const joined = args.join(' ');
  assert.match(joined, /-machine q35,accel=tcg/);
  assert.match(joined, /if=pflash,format=raw,unit=0,readonly=on,file=\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd/);
  assert.match(joined, /if=pflash,format=raw,unit=1,file=\/t\/VARS\.fd/);
  assert.ok(args.includes('-snapshot'));
  assert.deepEqual(args.slice(args.indexOf('-nic'), args.indexOf('-nic') + 2), ['-nic', 'none']);
  const forwarded = qemuArgs({ qemu, disk: '/d/image.qcow2', diskFormat: 'qcow2', accel: 'kvm', memory: '2G', snapshot: false, sshPort: 2222, variables: '/t/V' });
  assert.ok(!forwarded.includes('-snapshot'));
  assert.match(forwarded.join(' '), /hostfwd=tcp:127\.0\.0\.1:2222-:22/);
  assert.match(forwarded.join(' '), /-cpu host/);
});

test('kiln doctor: each bootable board checks its QEMU emulator and firmware files, naming the Debian packages', async () => {
  const { bootChecks } = await import('../../src/cli/doctor.ts');
  const board = BOARDS['x86_64-uefi'];
  const none = bootChecks([board, BOARDS['raspberrypi-4']], () => undefined, () => false);
  assert.deepEqual(none.map((c) => [c.what, c.ok]), [['boot x86_64-uefi: qemu-system-x86_64', false], ['boot x86_64-uefi: firmware', false]]);
  assert.match(none[0]!.detail, /qemu-system-x86/);
  assert.match(none[1]!.detail, /OVMF_CODE_4M\.fd, \/usr\/share\/OVMF\/OVMF_VARS_4M\.fd not found \(Debian\/Ubuntu package ovmf/);
  const all = bootChecks([board], () => '/usr/bin/qemu-system-x86_64', () => true);
  assert.ok(all.every((c) => c.ok));
});
