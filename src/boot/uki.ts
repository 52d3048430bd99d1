/**
 * Unified Kernel Images (boot.loader = "uki"): for each kernel one PE file
 * made of the image's own systemd-stub (Debian: systemd-boot-efi) with the
 * kernel, its initramfs, the command line, os-release and the kernel
 * version added as the sections the UAPI UKI specification names (.linux,
 * .initrd, .cmdline, .osrel, .uname), by the host's objcopy. Each new
 * section starts past the stub's last one, at the stub's section alignment
 * rounded up to a 4 KiB page, in a fixed order with fixed contents, so the
 * result is reproducible. The UKIs go to EFI/Linux/ID-VERSION.efi in the
 * ESP (Boot Loader Specification type 2: systemd-boot lists them), and the
 * newest also to the removable-media path EFI/BOOT/BOOT<ARCH>.EFI, which
 * firmware with empty variables starts directly: no bootloader is needed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alignUp } from '../disk/sizes.ts';
import { BuildError, UserError } from '../util/errors.ts';
import { findOnPath } from '../util/path.ts';
import { writeTreeFiles } from './grub-files.ts';
import { efiArch, imageOsRelease } from './systemd-boot.ts';
import type { BootLoader } from './types.ts';

const stubPath = (arch: string) => `/usr/lib/systemd/boot/efi/linux${arch}.efi.stub`;
const PAGE = 4096;

export interface PeLayout {
  imageBase: bigint;
  sectionAlignment: number;
  /** Where the stub's last section ends in memory (relative to the image base). */
  end: number;
}

/** The PE header facts objcopy's new sections are placed by (PE32 and PE32+). */
export function peLayout(pe: Buffer): PeLayout {
  if (pe.length < 0x40 || pe.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE file (no MZ header)');
  const at = pe.readUInt32LE(0x3c);
  if (pe.toString('latin1', at, at + 4) !== 'PE\0\0') throw new Error('not a PE file (no PE signature)');
  const sections = pe.readUInt16LE(at + 6);
  const optionalSize = pe.readUInt16LE(at + 20);
  const optional = at + 24;
  const magic = pe.readUInt16LE(optional);
  const imageBase = magic === 0x20b ? pe.readBigUInt64LE(optional + 24) : BigInt(pe.readUInt32LE(optional + 28));
  const sectionAlignment = pe.readUInt32LE(optional + 32);
  let end = 0;
  for (let i = 0; i < sections; i++) {
    const s = optional + optionalSize + i * 40;
    end = Math.max(end, pe.readUInt32LE(s + 12) + Math.max(pe.readUInt32LE(s + 8), pe.readUInt32LE(s + 16)));
  }
  return { imageBase, sectionAlignment, end };
}

export interface UkiSection {
  name: '.osrel' | '.cmdline' | '.uname' | '.initrd' | '.linux';
  file: string;
  size: number;
}

/** objcopy's arguments adding `sections` after the stub's, each at the next aligned address, read-only data. */
export function objcopyArgs(layout: PeLayout, sections: readonly UkiSection[], stub: string, output: string): string[] {
  const alignment = alignUp(Math.max(layout.sectionAlignment, PAGE), PAGE);
  const args: string[] = [];
  let next = alignUp(layout.end, alignment);
  for (const s of sections) {
    args.push('--add-section', `${s.name}=${s.file}`, '--set-section-flags', `${s.name}=data,readonly`, '--change-section-vma', `${s.name}=0x${(layout.imageBase + BigInt(next)).toString(16)}`);
    next = alignUp(next + s.size, alignment);
  }
  return [...args, stub, output];
}

export const uki: BootLoader = {
  name: 'uki',
  packageHint: 'add systemd-boot-efi (Debian) or systemd (Arch) to packages.install, which has systemd-stub',
  missing({ tree, machine, espDirectory }) {
    const arch = efiArch(machine);
    if (!arch) return `no UEFI stub for ${machine}`;
    if (!espDirectory) return 'a Unified Kernel Image goes into an EFI system partition ([[partition]] type = "esp" with contents = "/efi")';
    if (!tree.stat(stubPath(arch))?.isFile()) return `the image has no systemd-stub ${stubPath(arch)}`;
    if (!findOnPath('objcopy')) return 'the host has no objcopy to make the UKI with (Debian/Ubuntu: binutils)';
    return undefined;
  },
  install(setup) {
    const { tree, kernels, cmdline, machine, sourceDateEpoch } = setup;
    const arch = efiArch(machine)!;
    const os = imageOsRelease(tree);
    const stub = tree.readBytes(stubPath(arch));
    const layout = peLayout(stub);
    const osRelease = tree.readTextIfExists('/etc/os-release') ?? tree.readTextIfExists('/usr/lib/os-release') ?? '';
    const work = join(setup.disk!.piecesDirectory, 'uki');
    mkdirSync(work, { recursive: true });
    const files = new Map<string, Uint8Array | string>();
    try {
      writeFileSync(join(work, 'stub.efi'), stub);
      for (const [i, k] of kernels.entries()) {
        const parts: [UkiSection['name'], Buffer][] = [
          ['.osrel', Buffer.from(osRelease)],
          ['.cmdline', Buffer.from(`${cmdline}\n`)],
          ['.uname', Buffer.from(k.version)],
          ...(k.initrd ? ([['.initrd', tree.readBytes(k.initrd)]] as [UkiSection['name'], Buffer][]) : []),
          ['.linux', tree.readBytes(k.kernel)],
        ];
        const sections = parts.map(([name, data]) => {
          const file = join(work, `${i}${name}`);
          writeFileSync(file, data);
          return { name, file, size: data.length };
        });
        const output = join(work, `${i}.efi`);
        const r = spawnSync('objcopy', objcopyArgs(layout, sections, join(work, 'stub.efi'), output), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', SOURCE_DATE_EPOCH: String(sourceDateEpoch) } });
        if (r.status !== 0) throw new BuildError(`objcopy could not make the Unified Kernel Image for ${k.version}: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join('; ')}`);
        const image = readFileSync(output);
        files.set(`${setup.espDirectory}/EFI/Linux/${os.id}-${k.version}.efi`, image);
        if (i === 0) files.set(`${setup.espDirectory}/EFI/BOOT/BOOT${arch.toUpperCase()}.EFI`, image);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (files.size === 0) throw new UserError('no kernel to make a Unified Kernel Image of');
    return writeTreeFiles(tree, files, sourceDateEpoch);
  },
};
