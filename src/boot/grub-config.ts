/**
 * GRUB's configuration as kiln writes it, shared by the BIOS and the EFI
 * loader: the small config built into core.img / the EFI binary (find the
 * filesystem that holds /boot/grub by its UUID, make it $prefix), and
 * /boot/grub/grub.cfg (the serial console when the command line has one, a
 * short timeout, one menu entry per kernel, newest first, each finding the
 * filesystem of its kernel by UUID). Pure text.
 */
import type { Kernel } from './kernels.ts';

/** A file of the image as GRUB finds it: the UUID of the filesystem that holds it and its path there. */
export interface GrubPath {
  uuid: string;
  path: string;
}

/** The config grub-mkimage builds in: search the filesystem of `grubDirectory` and load its grub.cfg (normal does, from $prefix). */
export function embeddedConfigText(grubDirectory: GrubPath): string {
  return [`search.fs_uuid ${grubDirectory.uuid} root`, `set prefix=($root)'${grubDirectory.path}'`, ''].join('\n');
}

/** console=ttyS1,57600 as GRUB's serial unit and speed (the last console= wins, as for the kernel); undefined: no serial console. */
export function serialConsole(cmdline: string): { unit: number; speed: number } | undefined {
  const consoles = [...cmdline.matchAll(/(?:^|\s)console=ttyS(\d+)(?:,(\d+))?/g)];
  const last = consoles[consoles.length - 1];
  return last ? { unit: Number(last[1]), speed: Number(last[2] ?? 115200) } : undefined;
}

/** A menu entry's kernel and initramfs, as GRUB finds them. */
export interface GrubEntry {
  title: string;
  id: string;
  kernel: GrubPath;
  initrd?: GrubPath;
}

/** GRUB's single quotes: a ' inside becomes '\''. */
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function grubCfgText(entries: readonly GrubEntry[], cmdline: string, timeoutSeconds = 1): string {
  const serial = serialConsole(cmdline);
  const lines = ['# /boot/grub/grub.cfg: written by kiln (boot.loader = "grub"); kiln rewrites it at each build', ''];
  if (serial) lines.push(`serial --unit=${serial.unit} --speed=${serial.speed}`, 'terminal_input serial console', 'terminal_output serial console');
  lines.push(`set timeout=${timeoutSeconds}`, 'set default=0', '');
  for (const e of entries) {
    lines.push(`menuentry ${quote(e.title)} --id ${quote(e.id)} {`);
    lines.push(`\tsearch --no-floppy --fs-uuid --set=root ${e.kernel.uuid}`);
    lines.push(`\tlinux ${e.kernel.path} ${cmdline}`.trimEnd());
    if (e.initrd && e.initrd.uuid === e.kernel.uuid) lines.push(`\tinitrd ${e.initrd.path}`);
    else if (e.initrd) lines.push(`\tsearch --no-floppy --fs-uuid --set=initrd_fs ${e.initrd.uuid}`, `\tinitrd ($initrd_fs)${e.initrd.path}`);
    lines.push('}', '');
  }
  return lines.join('\n');
}

/** The entry for one kernel: titled with the distribution's PRETTY_NAME and the version. */
export function grubEntry(pretty: string, osId: string, kernel: Kernel, locate: (path: string) => GrubPath): GrubEntry {
  return {
    title: `${pretty}, Linux ${kernel.version}`,
    id: `${osId}-${kernel.version}`,
    kernel: locate(kernel.kernel),
    ...(kernel.initrd ? { initrd: locate(kernel.initrd) } : {}),
  };
}
