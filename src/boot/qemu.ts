/**
 * Starting a built disk in QEMU as the board's machine: UEFI firmware code
 * read-only and a private copy of its variables, the disk as virtio (with
 * -snapshot unless asked to write), the serial console on stdio
 * (-nographic), no network unless a port is forwarded to the guest's ssh.
 * With a console goal (console-script.ts) kiln reads the console, types
 * what the goal needs and kills QEMU when it is reached or at the timeout,
 * so nothing is left running.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoardQemu } from '../catalog/index.ts';
import { ConsoleScript, type ConsoleGoal, type ConsoleStep } from './console-script.ts';

export interface QemuRun {
  qemu: BoardQemu;
  disk: string;
  diskFormat: 'raw' | 'qcow2';
  accel: 'kvm' | 'tcg';
  memory: string;
  snapshot: boolean;
  sshPort?: number;
  /** The UEFI variables file QEMU may write (a copy), for a board with pflash firmware. */
  variables?: string;
}

/** The host files a board's QEMU machine needs, each with the Debian package that has it. */
export function firmwareFiles(q: BoardQemu): { file: string; package: string }[] {
  return [
    ...(q.firmware ? [q.firmware.code, q.firmware.variables].map((file) => ({ file, package: q.firmware!.package })) : []),
    ...(q.bios ? [q.bios] : []),
    ...(q.kernel ? [q.kernel] : []),
  ];
}

/** The firmware options: UEFI as pflash (code read-only, the variables' copy), or -bios and -kernel. */
function firmwareArgs(run: QemuRun): string[] {
  const q = run.qemu;
  return [
    ...(q.firmware ? ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${q.firmware.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${run.variables}`] : []),
    ...(q.bios ? ['-bios', q.bios.file] : []),
    ...(q.kernel ? ['-kernel', q.kernel.file] : []),
  ];
}

/** The QEMU command line (after the emulator's name). */
export function qemuArgs(run: QemuRun): string[] {
  return [
    '-machine', `${run.qemu.machine},accel=${run.accel}`,
    ...(run.accel === 'kvm' ? ['-cpu', 'host'] : run.qemu.cpu ? ['-cpu', run.qemu.cpu] : []),
    '-m', run.memory,
    '-smp', '2',
    '-nographic',
    '-no-reboot',
    ...firmwareArgs(run),
    '-drive', `if=virtio,format=${run.diskFormat},file=${run.disk}`,
    ...(run.snapshot ? ['-snapshot'] : []),
    ...(run.sshPort !== undefined ? ['-nic', `user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:${run.sshPort}-:22`] : ['-nic', 'none']),
  ];
}

export type BootResult = Extract<ConsoleStep, { kind: 'done' }>;

export interface StartOptions extends Omit<QemuRun, 'variables'> {
  goal?: ConsoleGoal;
  timeoutSeconds: number;
  /** Where the console's output goes as it comes. */
  echo: (text: string) => void;
}

/** Runs QEMU to the end (interactive: until the guest powers off) or to the goal or the timeout; resolves with the result. */
export async function bootInQemu(opts: StartOptions): Promise<BootResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-boot-'));
  const variables = opts.qemu.firmware ? join(dir, 'VARS.fd') : undefined;
  if (opts.qemu.firmware && variables) {
    copyFileSync(opts.qemu.firmware.variables, variables);
    chmodSync(variables, 0o600);
  }
  const args = qemuArgs({ ...opts, variables });
  const child = spawn(`qemu-system-${opts.qemu.emulator}`, args, { stdio: opts.goal ? ['pipe', 'pipe', 'pipe'] : 'inherit' });
  const stop = () => child.kill('SIGKILL');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await new Promise<BootResult>((resolve) => {
      let result: BootResult | undefined;
      const finish = (r: BootResult) => {
        result ??= r;
        stop();
      };
      const timer = setTimeout(() => finish({ kind: 'done', code: 1, message: `timed out after ${opts.timeoutSeconds} s` }), opts.timeoutSeconds * 1000);
      let stderr = '';
      if (opts.goal) {
        const script = new ConsoleScript(opts.goal);
        child.stdout!.setEncoding('utf8');
        child.stdout!.on('data', (text: string) => {
          opts.echo(text);
          if (result) return;
          for (const step of script.feed(text)) {
            if (step.kind === 'send') child.stdin!.write(step.text);
            else finish(step);
          }
        });
        child.stderr!.on('data', (d) => (stderr += d));
        child.stdin!.on('error', () => undefined);
      }
      child.once('error', (err) => finish({ kind: 'done', code: 1, message: `could not start QEMU: ${err.message}` }));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const said = stderr.split('\n').filter((l) => l.trim() && !l.includes('warning:')).slice(-3).join('; ');
        resolve(result ?? { kind: 'done', code: opts.goal ? 1 : (code ?? 1), message: opts.goal ? `QEMU ended (${signal ?? `status ${code}`}) before the goal${said ? `: ${said}` : ''}` : `QEMU ended with status ${code ?? signal}` });
      });
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    rmSync(dir, { recursive: true, force: true });
  }
}
