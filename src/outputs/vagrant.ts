/**
 * The vagrant-libvirt output: a Vagrant box for the libvirt provider, the
 * qcow2 disk as box.img beside metadata.json and a Vagrantfile, in one
 * gzipped tar (NAME.libvirt.box; `vagrant box add NAME NAME.libvirt.box`).
 * The archive's owners, modes and times are fixed and gzip writes no name
 * or time, so the same disk gives the same box. The Vagrantfile sets what
 * the board needs to start (its QEMU machine, the UEFI loader of a UEFI
 * board, the architecture of a foreign one); vagrant.vagrantfile replaces it.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { TarWriter } from '../archive/index.ts';
import { findBoard } from '../catalog/index.ts';
import { run } from '../util/run.ts';
import { writeCompressedFile } from './compressed-file.ts';
import { GZIP, QEMU_IMG } from './host-tools.ts';
import type { OutputWriter } from './writer.ts';

const GIB = 1024 ** 3;

/** The box's metadata.json: libvirt's three fields; the disk's virtual size in whole GiB, rounded up (never smaller than the disk). */
export function boxMetadata(virtualSizeBytes: number): string {
  return `${JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: Math.ceil(virtualSizeBytes / GIB) }, null, 2)}\n`;
}

export interface BoxMachine {
  /** uname -m of the image. */
  machine: string;
  /** The board's QEMU -machine (q35, virt), when it has one. */
  machineType?: string;
  /** The board's UEFI firmware code, when it boots by UEFI. */
  loader?: string;
}

/** The box's own Vagrantfile: the provider settings the image needs, which a project's Vagrantfile can override. */
export function boxVagrantfile(m: BoxMachine): string {
  const settings = [
    // A foreign box cannot use KVM on the hosts it is for; an x86-64 one expects it, as libvirt boxes do.
    `libvirt.driver = "${m.machine === 'x86_64' ? 'kvm' : 'qemu'}"`,
    ...(m.machine === 'x86_64' ? [] : [`libvirt.machine_arch = "${m.machine}"`]),
    ...(m.machineType ? [`libvirt.machine_type = "${m.machineType}"`] : []),
    ...(m.loader ? [`libvirt.loader = "${m.loader}"`] : []),
  ];
  return [
    '# Written by kiln: the settings this box needs under the libvirt provider.',
    "# A project's Vagrantfile overrides any of them.",
    'Vagrant.configure("2") do |config|',
    '  config.vm.provider :libvirt do |libvirt|',
    ...settings.map((s) => `    ${s}`),
    '  end',
    'end',
    '',
  ].join('\n');
}

async function virtualSize(qcow2: string): Promise<number> {
  const stdout = await run('qemu-img', ['info', '--output=json', '-f', 'qcow2', qcow2]);
  const size = (JSON.parse(stdout) as { 'virtual-size'?: unknown })['virtual-size'];
  if (typeof size !== 'number') throw new Error(`qemu-img info gave no virtual size for ${qcow2}`);
  return size;
}

export const vagrantLibvirtWriter: OutputWriter<'qcow2'> = {
  fileName: (name) => `${name}.libvirt.box`,
  tools: [QEMU_IMG, GZIP],
  from: ['qcow2'],
  takesTree: false,
  write: async ({ tmp, made, config, imageDir, machine, sourceDateEpoch, emit }) => {
    const disk = made.qcow2!;
    const board = config['board.name'] ? findBoard(config['board.name']) : undefined;
    if (!board?.firmware) {
      emit({ kind: 'log', level: 'warn', message: `vagrant-libvirt: ${board ? `board ${board.name} has no bootloader kiln writes` : 'no board.name is set'}, so the box's disk may not boot (a bootable board such as x86_64-uefi gives one that does)` });
    }
    const own = config['vagrant.vagrantfile'];
    const vagrantfile = own
      ? await readFile(isAbsolute(own) ? own : join(imageDir, own), 'utf8')
      : boxVagrantfile({ machine, machineType: board?.qemu?.machine, loader: board?.firmware === 'uefi' ? board.qemu?.firmware?.code : undefined });
    const small = [
      { path: 'metadata.json', data: Buffer.from(boxMetadata(await virtualSize(disk))) },
      { path: 'Vagrantfile', data: Buffer.from(vagrantfile) },
    ];
    const base = { type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: sourceDateEpoch, xattrs: new Map<string, Buffer>() };
    await writeCompressedFile(tmp, 'gz', async (out) => {
      const writer = new TarWriter(out);
      for (const f of small) await writer.add({ ...base, path: f.path, size: f.data.length }, f.data);
      await writer.add({ ...base, path: 'box.img', size: (await stat(disk)).size }, createReadStream(disk, { highWaterMark: 1 << 20 }));
      await writer.finish();
    });
    return { provider: 'libvirt', files: ['metadata.json', 'Vagrantfile', 'box.img'] };
  },
};
