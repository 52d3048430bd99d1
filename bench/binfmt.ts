/**
 * mmdebstrap and pacman run foreign binaries (maintainer scripts, scriptlets,
 * hooks) through the HOST's binfmt_misc registration (kiln registers QEMU in
 * its own namespace on Linux >= 6.7 and does not need this). When the host has no registration for the case's
 * architecture, the bench (as root) registers it from qemu-user-static's
 * /usr/lib/binfmt.d file, with the F flag, for the duration of the bench only,
 * and undoes it afterwards (unregisters, and unmounts binfmt_misc if it
 * mounted it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** qemu's binfmt name for a Debian architecture. */
const QEMU_NAME: Record<string, string> = { arm64: 'aarch64', armhf: 'arm', riscv64: 'riscv64', ppc64el: 'ppc64le', s390x: 's390x' };

export interface HostBinfmt {
  /** What was done, for the report ("" when nothing was needed). */
  note: string;
  undo(): void;
}

function enabled(entry: string): boolean {
  try {
    return readFileSync(entry, 'utf8').split('\n')[0] === 'enabled';
  } catch {
    return false;
  }
}

/** Makes sure the host can run `arch` binaries through QEMU; throws with a clear message when it cannot. */
export function ensureHostBinfmt(arch: string, tool: string): HostBinfmt {
  const qemu = QEMU_NAME[arch];
  if (!qemu) throw new Error(`no QEMU binfmt name known for ${arch}`);
  const entry = `${BINFMT}/qemu-${qemu}`;
  let mounted = false;
  if (!existsSync(`${BINFMT}/register`)) {
    if (process.getuid?.() !== 0) throw new Error(`${BINFMT} is not mounted and the bench is not root: ${tool} cannot run ${arch} binaries`);
    execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    mounted = true;
  }
  const unmount = () => {
    if (mounted) execFileSync('umount', [BINFMT]);
    mounted = false;
  };
  if (existsSync(entry)) {
    if (!enabled(entry)) {
      unmount();
      throw new Error(`the host's binfmt registration ${entry} is disabled; ${tool} cannot run ${arch} binaries`);
    }
    const flags = /^flags: (.*)$/m.exec(readFileSync(entry, 'utf8'))?.[1] ?? '';
    return { note: `host binfmt ${entry} already registered (flags ${flags})`, undo: unmount };
  }
  if (process.getuid?.() !== 0) throw new Error(`the host has no binfmt registration for ${arch} (${entry}) and the bench is not root`);
  const conf = `/usr/lib/binfmt.d/qemu-${qemu}.conf`;
  let line = readFileSync(conf, 'utf8').split('\n').find((l) => l.startsWith(':')) ?? '';
  const fields = line.split(':');
  if (fields.length !== 8) throw new Error(`cannot parse ${conf}`);
  if (!(fields[7] as string).includes('F')) fields[7] += 'F';
  line = fields.join(':');
  try {
    writeFileSync(`${BINFMT}/register`, line);
  } catch (err) {
    unmount();
    throw err;
  }
  return {
    note: `registered qemu-${qemu} on the HOST's binfmt_misc from ${conf} (flags ${fields[7]}${mounted ? ', binfmt_misc mounted for the bench' : ''}) for ${tool}; undone at the end`,
    undo: () => {
      if (existsSync(entry)) writeFileSync(entry, '-1');
      unmount();
    },
  };
}
