/**
 * `kiln boot`: the built disk in QEMU as the board's machine, the serial
 * console on the terminal; or, with --expect or --login/--run, a scripted
 * check that exits 0 when it succeeds and 1 at the timeout.
 */
import { Command } from '@commander-js/extra-typings';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { findBoard, hostMachine, type Board, type BoardQemu } from '../catalog/index.ts';
import { chooseAccelerator, kvmDeviceProblem, probeKvm } from '../boot/kvm.ts';
import { bootInQemu, firmwareFiles } from '../boot/qemu.ts';
import { uefiDiskProblem } from '../boot/disk-check.ts';
import type { ConsoleGoal } from '../boot/console-script.ts';
import { outputPath } from '../outputs/index.ts';
import { outputFile } from '../outputs/paths.ts';
import { UserError } from '../util/errors.ts';
import { findOnPath } from '../util/path.ts';
import { imageOptions, loadFromOptions } from './image-options.ts';

export function bootCommand() {
  return imageOptions(new Command('boot').description("start the built disk in QEMU as the board's machine (serial console on the terminal)"))
    .option('--expect <text>', 'exit 0 when TEXT appears on the console (1 at --timeout)')
    .option('--login <user:password>', 'log in on the serial console when "login:" appears (with --run)')
    .option('--run <command>', 'after --login, run COMMAND and print its output')
    .option('--timeout <seconds>', 'give up after this long (with --expect or --run)', '600')
    .option('--memory <size>', 'guest memory, as QEMU takes it (1G, 2048M)', '1G')
    .option('--no-snapshot', 'let the guest write to the disk (default: -snapshot, the disk is never changed)')
    .option('--ssh-port <port>', "forward 127.0.0.1:PORT to the guest's port 22 (user-mode network)")
    .action(async (opts) => {
      const loaded = loadFromOptions(opts);
      const c = loaded.config;
      const board = c['board.name'] ? findBoard(c['board.name']) : undefined;
      const qemu = machineOf(board, { code: c['boot.firmware'], variables: c['boot.firmware-variables'] });
      const dir = resolve(loaded.dir, c['output.directory']);
      const disk = [outputPath(dir, c['output.name'], 'disk'), outputPath(dir, c['output.name'], 'qcow2')].find((p) => existsSync(p));
      if (!disk) throw new UserError(`no disk image at ${outputPath(dir, c['output.name'], 'disk')}`, 'run kiln build first with output.format = ["disk"] (or "qcow2"), with the same -C and settings');
      const raw = disk.endsWith('.raw');
      const machine = loaded.distribution.architectures[c['distribution.architecture']] ?? c['distribution.architecture'];
      const problem = board?.firmware !== 'uefi' ? undefined : uefiDiskProblem(disk, outputFile(dir, `${c['output.name']}.manifest.json`), machine, raw);
      if (problem) throw new UserError(problem, `set boot.loader = "auto" or "systemd-boot" with board.name = "${board!.name}" and build again`);
      const goal = consoleGoal(opts);
      const timeoutSeconds = positive(opts.timeout, '--timeout');
      const sshPort = opts.sshPort === undefined ? undefined : port(opts.sshPort);
      const emulator = `qemu-system-${qemu.emulator}`;
      const accel = await chooseAccelerator({ hostMachine: hostMachine(), guestMachine: machine, deviceProblem: kvmDeviceProblem(), probe: () => probeKvm(emulator) });
      process.stderr.write(accel.accel === 'kvm' ? `kiln: booting ${disk} with KVM\n` : `kiln: booting ${disk} with software emulation (TCG, slow): ${accel.why}\n`);
      const result = await bootInQemu({ qemu, disk, diskFormat: raw ? 'raw' : 'qcow2', accel: accel.accel, memory: opts.memory, snapshot: opts.snapshot, sshPort, goal, timeoutSeconds, echo: (t) => process.stdout.write(t) });
      if (result.output !== undefined) process.stdout.write(`\n----- kiln boot: output of ${opts.run} -----\n${result.output}----- kiln boot: end (status ${result.status}) -----\n`);
      if (goal) process.stderr.write(`kiln: ${result.message}\n`);
      process.exitCode = result.code;
    });
}

/** The board's QEMU machine, its emulator and firmware present: else one line naming the Debian package. */
function machineOf(board: Board | undefined, firmware: { code?: string; variables?: string }): BoardQemu {
  if (!board?.qemu) throw new UserError(board ? `board ${board.name} has no QEMU machine kiln can boot` : 'kiln boot needs a board (board.name) that says which machine and firmware to start', 'set board.name = "x86_64-uefi" and build again');
  const q = withFirmware(board.qemu, firmware);
  if (!findOnPath(`qemu-system-${q.emulator}`)) throw new UserError(`qemu-system-${q.emulator} is not installed`, `install the package ${q.emulatorPackage} (Debian/Ubuntu)`);
  for (const { file, package: pkg } of firmwareFiles(q)) {
    if (!existsSync(file)) throw new UserError(`the ${board.name} firmware ${file} is missing`, `install the package ${pkg} (Debian/Ubuntu), or set boot.firmware${q.firmware ? ' and boot.firmware-variables' : ''} to its files`);
  }
  return q;
}

/** boot.firmware replaces the UEFI code (pflash boards) or the -bios file; boot.firmware-variables the UEFI variables. */
function withFirmware(q: BoardQemu, firmware: { code?: string; variables?: string }): BoardQemu {
  if (q.firmware) return { ...q, firmware: { ...q.firmware, code: firmware.code ?? q.firmware.code, variables: firmware.variables ?? q.firmware.variables } };
  if (q.bios && firmware.code) return { ...q, bios: { ...q.bios, file: firmware.code } };
  return q;
}

function consoleGoal(opts: { expect?: string; login?: string; run?: string }): ConsoleGoal | undefined {
  if (opts.expect !== undefined && (opts.login !== undefined || opts.run !== undefined)) throw new UserError('--expect and --login/--run cannot be combined', 'use --expect TEXT, or --login USER:PASS --run COMMAND');
  if (opts.expect !== undefined) return { expect: opts.expect };
  if ((opts.login === undefined) !== (opts.run === undefined)) throw new UserError('--login and --run go together', "give both: --login root:PASSWORD --run 'systemctl is-system-running'");
  if (opts.login === undefined) return undefined;
  const colon = opts.login.indexOf(':');
  if (colon <= 0) throw new UserError(`--login ${JSON.stringify(opts.login)} is not USER:PASSWORD`, 'such as --login root:secret');
  return { login: { user: opts.login.slice(0, colon), password: opts.login.slice(colon + 1) }, run: opts.run! };
}

function positive(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${what} ${JSON.stringify(text)} is not a positive number of seconds`, `such as ${what} 600`);
  return n;
}

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UserError(`--ssh-port ${JSON.stringify(text)} is not a TCP port`, 'such as --ssh-port 2222');
  return n;
}
