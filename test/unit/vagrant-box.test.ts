import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxMetadata, boxVagrantfile } from '../../src/outputs/vagrant.ts';

test("a box's metadata gives libvirt its three fields, the virtual size rounded up to whole GiB", () => {
  assert.deepEqual(JSON.parse(boxMetadata(2 * 1024 ** 3)), { provider: 'libvirt', format: 'qcow2', virtual_size: 2 });
  assert.equal(JSON.parse(boxMetadata(2 * 1024 ** 3 + 1)).virtual_size, 3);
  assert.equal(JSON.parse(boxMetadata(1_400_000_000)).virtual_size, 2);
});

test("a box's Vagrantfile: KVM and the board's machine and UEFI loader for x86-64; QEMU and the architecture for a foreign box", () => {
  const pc = boxVagrantfile({ machine: 'x86_64', machineType: 'q35', loader: '/usr/share/OVMF/OVMF_CODE_4M.fd' });
  assert.match(pc, /^Vagrant\.configure\("2"\) do \|config\|$/m);
  assert.match(pc, /^ {4}libvirt\.driver = "kvm"$/m);
  assert.match(pc, /^ {4}libvirt\.machine_type = "q35"$/m);
  assert.match(pc, /^ {4}libvirt\.loader = "\/usr\/share\/OVMF\/OVMF_CODE_4M\.fd"$/m);
  assert.doesNotMatch(pc, /machine_arch/);
  const arm = boxVagrantfile({ machine: 'aarch64', machineType: 'virt' });
  assert.match(arm, /^ {4}libvirt\.driver = "qemu"$/m);
  assert.match(arm, /^ {4}libvirt\.machine_arch = "aarch64"$/m);
  assert.doesNotMatch(arm, /loader/);
  // Balanced: every do has its end.
  for (const text of [pc, arm]) assert.equal((text.match(/\bdo\b/g) ?? []).length, (text.match(/^\s*end$/gm) ?? []).length);
});
