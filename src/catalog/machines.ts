/**
 * CPU architectures as the kernel names them (uname -m), with what QEMU user
 * emulation needs to run their binaries: the emulator's name and the ELF
 * header that binfmt_misc matches.
 */
export type Machine = 'x86_64' | 'i386' | 'aarch64' | 'arm' | 'riscv64' | 'loongarch64' | 'ppc64le' | 's390x' | 'mips64el';

interface ElfId {
  bits: 32 | 64;
  endian: 'little' | 'big';
  /** e_machine */
  machine: number;
}

const ELF: Record<Machine, ElfId> = {
  x86_64: { bits: 64, endian: 'little', machine: 62 },
  i386: { bits: 32, endian: 'little', machine: 3 },
  aarch64: { bits: 64, endian: 'little', machine: 183 },
  arm: { bits: 32, endian: 'little', machine: 40 },
  riscv64: { bits: 64, endian: 'little', machine: 243 },
  loongarch64: { bits: 64, endian: 'little', machine: 258 },
  ppc64le: { bits: 64, endian: 'little', machine: 21 },
  s390x: { bits: 64, endian: 'big', machine: 22 },
  mips64el: { bits: 64, endian: 'little', machine: 8 },
};

export const MACHINES = Object.keys(ELF) as Machine[];

const hex = (bytes: number[]) => bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/**
 * binfmt_misc magic and mask for executables and shared objects (ET_EXEC,
 * ET_DYN) of a machine; the OS/ABI byte is ignored, as QEMU's own table does.
 */
export function elfMagic(machine: Machine): { magic: string; mask: string } {
  const id = ELF[machine];
  const le = id.endian === 'little';
  const half = (v: number) => (le ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff]);
  const ident = [0x7f, 0x45, 0x4c, 0x46, id.bits === 64 ? 2 : 1, le ? 1 : 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const identMask = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  const typeMask = le ? [0xfe, 0xff] : [0xff, 0xfe];
  return {
    magic: hex([...ident, ...half(2), ...half(id.machine)]),
    mask: hex([...identMask, ...typeMask, 0xff, 0xff]),
  };
}

/** The name QEMU gives its user-mode emulator for a machine: qemu-NAME-static. */
export function qemuName(machine: Machine): string {
  return machine;
}

/** The machine the host runs, from Node's process.arch. */
export function hostMachine(): Machine {
  const map: Partial<Record<string, Machine>> = {
    x64: 'x86_64',
    ia32: 'i386',
    arm64: 'aarch64',
    arm: 'arm',
    riscv64: 'riscv64',
    loong64: 'loongarch64',
    ppc64: 'ppc64le',
    s390x: 's390x',
    mips64el: 'mips64el',
  };
  return map[process.arch] ?? 'x86_64';
}

/** Whether the host runs this machine's binaries without emulation. */
export function runsNatively(target: Machine, host: Machine = hostMachine()): boolean {
  return target === host || (host === 'x86_64' && target === 'i386');
}
