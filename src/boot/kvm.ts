/**
 * Whether `kiln boot` can use KVM: the guest's machine is the host's,
 * /dev/kvm opens for reading and writing (QEMU runs outside kiln's user
 * namespace, so the user's kvm group counts), and a probe guest actually
 * runs under it. The probe matters: in some nested virtual machines
 * /dev/kvm opens but the first x87 instruction stops the guest with "KVM
 * internal error" (OVMF executes fninit early). The probe is a 64 KiB
 * firmware whose reset vector runs fninit, then writes to QEMU's
 * isa-debug-exit port, which ends QEMU with status 3: status 3 means KVM
 * ran it; anything else, or the internal error, means it cannot.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Accelerator = { accel: 'kvm' } | { accel: 'tcg'; why: string };

export interface KvmFacts {
  hostMachine: string;
  guestMachine: string;
  /** /dev/kvm opens read-write: undefined, or why not. */
  deviceProblem: string | undefined;
  /** Runs the probe guest under KVM: undefined when it ran, else what went wrong. */
  probe: () => Promise<string | undefined>;
}

/** KVM when every fact allows it, else TCG with the first reason why not. */
export async function chooseAccelerator(facts: KvmFacts): Promise<Accelerator> {
  if (facts.hostMachine !== facts.guestMachine) return { accel: 'tcg', why: `the image is for ${facts.guestMachine}, the host is ${facts.hostMachine}` };
  if (facts.deviceProblem) return { accel: 'tcg', why: facts.deviceProblem };
  const failed = await facts.probe();
  return failed ? { accel: 'tcg', why: `KVM does not run guests here (${failed})` } : { accel: 'kvm' };
}

export function kvmDeviceProblem(device = '/dev/kvm'): string | undefined {
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${device} does not exist` : `${device} is not readable and writable by this user (${code}; the kvm group gives it)`;
  }
}

/** The probe firmware: fninit; fwait; mov al,1; out 0xf4,al; then hlt forever, at the reset vector (0xFFF0) of a 64 KiB image. */
export function probeFirmware(): Buffer {
  const image = Buffer.alloc(65536, 0xf4);
  Buffer.from([0xdb, 0xe3, 0x9b, 0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(image, 0xfff0);
  return image;
}

/** isa-debug-exit's status for the value 1: (1 << 1) | 1. */
const PROBE_EXIT = 3;

/** Runs the probe under KVM with `emulator` (qemu-system-x86_64); a generous limit only for a QEMU that hangs. */
export async function probeKvm(emulator: string, limitMs = 60_000): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-kvm-probe-'));
  try {
    const firmware = join(dir, 'probe.bin');
    writeFileSync(firmware, probeFirmware());
    const args = ['-accel', 'kvm', '-machine', 'q35', '-m', '16', '-nodefaults', '-display', 'none', '-no-reboot', '-bios', firmware, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'];
    return await new Promise<string | undefined>((resolve) => {
      const child = spawn(emulator, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const finish = (why: string | undefined) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve(why);
      };
      const timer = setTimeout(() => finish('the probe guest did not finish'), limitMs);
      child.stderr.on('data', (d) => {
        stderr += d;
        // QEMU stops the guest and waits after an internal error; it does not exit.
        if (stderr.includes('KVM internal error')) finish('"KVM internal error" on the first x87 instruction');
      });
      child.once('error', (err) => finish(err.message));
      child.once('exit', (code) => finish(code === PROBE_EXIT ? undefined : firstLine(stderr) ?? `QEMU exited with ${code}`));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const firstLine = (text: string): string | undefined => text.split('\n').find((l) => l.trim() !== '' && !l.includes('warning:'))?.trim();
