/**
 * The host tools kiln can take from a Debian archive when the host lacks
 * them: for each, the command it is run as, the Debian package that ships
 * it, the files to keep, and what to tell the user. A tool that comes in
 * variants (one QEMU emulator per machine) takes the variant as argument.
 * Only statically linked tools belong here: they run on any distribution.
 */

export interface HostTool {
  /** The command's name, as looked up on the host's PATH. */
  command: string;
  debianPackage: string;
  /** Paths inside the package; the first is the command. */
  paths: string[];
  /** What to install on the host instead. */
  hint: string;
}

export const HOST_TOOLS = {
  /** QEMU's static user-mode emulator for one machine (QEMU's name for it: aarch64, arm, riscv64, ...). */
  'qemu-user': (qemuMachine: string): HostTool => ({
    command: `qemu-${qemuMachine}-static`,
    debianPackage: 'qemu-user-static',
    paths: [`usr/bin/qemu-${qemuMachine}-static`],
    hint: 'install qemu-user-static (Debian/Ubuntu, Fedora, Arch: qemu-user-static)',
  }),
  /** A static busybox: the native shell of the native-twin dispatcher (its own copy always: the host's busybox may be dynamic). */
  'busybox-static': (): HostTool => ({
    command: 'busybox',
    debianPackage: 'busybox-static',
    paths: ['bin/busybox'],
    hint: 'set build.emulation = "full", or give kiln access to a Debian archive with busybox-static',
  }),
} satisfies Record<string, (variant: string) => HostTool>;

export type HostToolName = keyof typeof HOST_TOOLS;
