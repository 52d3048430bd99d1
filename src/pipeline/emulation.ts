/**
 * Deciding how foreign binaries run: not at all (native), through QEMU
 * registered in the build's own binfmt_misc (Linux >= 6.7), or through the
 * host's registration. Says exactly what is missing when none works.
 */
import { release } from 'node:os';
import { elfMagic, hostMachine, qemuName, runsNatively, type Machine } from '../catalog/index.ts';
import { escapesToHex, hostBinfmtFor } from '../sandbox/index.ts';
import { UserError } from '../util/errors.ts';
import { findOnPath } from '../util/path.ts';
import type { Emulation } from './job.ts';

export function kernelSupportsNamespacedBinfmt(version = release()): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 7);
}

export function planEmulation(machine: Machine, mode: 'auto' | 'namespace' | 'host'): Emulation | undefined {
  if (runsNatively(machine)) return undefined;
  const { magic, mask } = elfMagic(machine);
  const qemu = `qemu-${qemuName(machine)}-static`;
  const useNamespace = mode === 'namespace' || (mode === 'auto' && kernelSupportsNamespacedBinfmt());
  if (useNamespace) {
    const interpreter = findOnPath(qemu);
    if (!interpreter) {
      throw new UserError(
        `building for ${machine} on ${hostMachine()} needs ${qemu}, which is not installed`,
        'install it: Debian/Ubuntu: qemu-user-static, Fedora: qemu-user-static, Arch: qemu-user-static',
      );
    }
    return { entry: { name: `kiln-${machine}`, magic, mask, interpreter }, mode: 'namespace', bindInterpreter: false };
  }
  const host = hostBinfmtFor(escapesToHex(magic));
  if (!host) {
    const why = mode === 'host' ? 'build.binfmt = "host"' : `this kernel (${release()}) has no binfmt_misc per namespace (needs Linux >= 6.7)`;
    throw new UserError(
      `cannot run ${machine} programs: ${why} and the host has no binfmt_misc registration for ${machine}`,
      `install qemu-user-static (and binfmt-support or systemd-binfmt) so that the host registers it${mode === 'host' ? ', or set build.binfmt = "auto"' : ', or use Linux >= 6.7'}`,
    );
  }
  return {
    entry: { name: host.name, magic, mask, interpreter: host.interpreter },
    mode: 'host',
    bindInterpreter: !host.fixBinary,
  };
}
