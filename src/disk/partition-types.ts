/**
 * Partition types by name. On GPT a name is a type GUID: the ESP's and BIOS
 * boot's from the UEFI and GRUB conventions, the Linux ones from the
 * Discoverable Partitions Specification, where root and usr differ per
 * architecture (so that a systemd-gpt-auto-generator or systemd-repart on
 * the target finds the partitions meant for its own CPU). On MBR a name is a
 * type byte. A GUID or a "0x0c" byte given as the type is taken as is, on
 * the table that has such types.
 */
import { UserError } from '../util/errors.ts';
import type { PartitionAttribute, PartitionTypeName, PlannedPartition } from './types.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MBR_BYTE = /^0x[0-9a-f]{1,2}$/i;

type ArchitectureFree = Exclude<PartitionTypeName, 'root' | 'usr'>;

/** The type GUIDs that are the same on every architecture. */
const COMMON_GUIDS: Record<ArchitectureFree, string> = {
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  xbootldr: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
  'bios-boot': '21686148-6449-6e6f-744e-656564454649',
  home: '933ac7e1-2eb4-4f13-b844-0e14e2aef915',
  srv: '3b8f8425-20e0-4f3b-907f-1a25a76f98e8',
  var: '4d21b016-b534-45c2-a9fb-5c16e091fd2d',
  tmp: '7ec6f557-3bc5-4aca-b293-16ef5df639d1',
  swap: '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f',
  'linux-generic': '0fc63daf-8483-4772-8e79-3d69d8477de4',
};

/** Discoverable Partitions' root and usr types per architecture, with the uname -m names that run it. */
interface ArchitectureTypes {
  /** The specification's name for the architecture, for logs. */
  name: string;
  machines: readonly string[];
  root: string;
  usr: string;
}

const ARCHITECTURE_TYPES: readonly ArchitectureTypes[] = [
  { name: 'x86-64', machines: ['x86_64', 'amd64'], root: '4f68bce3-e8cd-4db1-96e7-fbcaf984b709', usr: '8484680c-9521-48c6-9c11-b0720656f69e' },
  { name: 'x86', machines: ['i386', 'i486', 'i586', 'i686', 'x86'], root: '44479540-f297-41b2-9af7-d131d5f0458a', usr: '75250d76-8cc6-458e-bd66-bd47cc81a812' },
  { name: 'arm64', machines: ['aarch64', 'arm64'], root: 'b921b045-1df0-41c3-af44-4c6f280d3fae', usr: 'b0e01050-ee5f-4390-949a-9101b17104e9' },
  { name: 'arm', machines: ['arm', 'armv7l', 'armv7', 'armv6l', 'armv8l', 'armhf', 'armel'], root: '69dad710-2ce4-4e3c-b16c-21a1d49abed3', usr: '7d0359a3-02b3-4f0a-865c-654403e70625' },
  { name: 'riscv64', machines: ['riscv64'], root: '72ec70a6-cf74-40e6-bd49-4bda08e8f224', usr: 'beaec34b-8442-439b-a40b-984381ed097d' },
  { name: 'riscv32', machines: ['riscv32'], root: '60d5a7fe-8e7d-435c-b714-3dd8162144e1', usr: 'b933fb22-5c3f-4f91-af90-e2bb0fa50702' },
  { name: 'loongarch64', machines: ['loongarch64'], root: '77055800-792c-4f94-b39a-98c91b762bb6', usr: 'e611c702-575c-4cbe-9a46-434fa0bf7e3f' },
  { name: 'ppc64le', machines: ['ppc64le'], root: 'c31c45e6-3f39-412e-80fb-4809c4980599', usr: '15bb03af-77e7-4d4a-b12b-c0d084f7491c' },
  { name: 'ppc64', machines: ['ppc64'], root: '912ade1d-a839-4913-8964-a10eee08fbd2', usr: '2c9739e2-f068-46b3-9fd0-01c5a9afbcca' },
  { name: 'ppc', machines: ['ppc'], root: '1de3f1ef-fa98-47b5-8dcd-4a860a654d78', usr: '7d14fec5-cc71-415d-9d6c-06bf0b3c3eaf' },
  { name: 's390x', machines: ['s390x'], root: '5eead9a9-fe09-4a1e-a1d7-520d00531306', usr: '8a4f5770-50aa-4ed3-874a-99b710db6fea' },
  { name: 's390', machines: ['s390'], root: '08a7acea-624c-4a20-91e8-6e0fa67d23f9', usr: 'cd0f869b-d0fb-4ca0-b141-9ea87cc78d66' },
  { name: 'mips64el', machines: ['mips64el', 'mips64'], root: '700bda43-7a34-4507-b179-eeb93d7a7ca3', usr: 'c97c1f32-ba06-40b4-9f22-236061b08aa8' },
  { name: 'mipsel', machines: ['mipsel', 'mips'], root: '37c58c8a-d913-4156-a25f-48b1b64e07f0', usr: '0f4868e9-9952-4706-979f-3ed3a473e947' },
  { name: 'ia64', machines: ['ia64'], root: '993d8d3d-f80e-4225-855a-9daf8ed7ea97', usr: '4301d2a6-4e3b-4b2a-bb94-9e0b2c4225ea' },
  { name: 'alpha', machines: ['alpha'], root: '6523f8ae-3eb1-4e2a-a05a-18b695ae656f', usr: 'e18cf08c-33ec-4c0d-8246-c6c6fb3da024' },
];

/** MBR type bytes by name (bios-boot has none: it exists only on GPT). */
const MBR_TYPES: Record<Exclude<PartitionTypeName, 'bios-boot'>, number> = {
  esp: 0xef,
  xbootldr: 0xea,
  swap: 0x82,
  root: 0x83,
  usr: 0x83,
  home: 0x83,
  srv: 0x83,
  var: 0x83,
  tmp: 0x83,
  'linux-generic': 0x83,
};

/** GPT attribute names and their bit numbers. */
export const ATTRIBUTE_BITS: Record<PartitionAttribute, number> = {
  required: 0,
  'no-block-io': 1,
  'legacy-bios-bootable': 2,
  'grow-fs': 59,
  'read-only': 60,
  'no-auto': 63,
};

/** The attribute names as the 64-bit value GPT stores. */
export function attributeBits(attributes: readonly PartitionAttribute[] = []): bigint {
  return attributes.reduce((bits, a) => bits | (1n << BigInt(ATTRIBUTE_BITS[a])), 0n);
}

function architectureOf(machine: string): ArchitectureTypes | undefined {
  return ARCHITECTURE_TYPES.find((a) => a.machines.includes(machine));
}

function isName(type: string): type is PartitionTypeName {
  return type in COMMON_GUIDS || type === 'root' || type === 'usr';
}

/**
 * The GPT type GUID (lower case) for `type` on `machine`. `who` names the
 * partition in messages ("partition 2 (root, ext4)").
 */
export function typeGuid(type: string, machine: string, who = `partition type ${type}`): string {
  const t = type.toLowerCase();
  if (GUID.test(t)) return t;
  if (MBR_BYTE.test(t)) {
    throw new UserError(`${who} has the MBR type byte ${t} as its type, but the disk has a GPT`, `give a type name (esp, root, linux-generic, ...) or a GPT type GUID, or set disk.table = "mbr"`);
  }
  if (!isName(t)) throw new UserError(`${who} has the unknown type ${JSON.stringify(type)}`, `use a type name (${[...Object.keys(COMMON_GUIDS), 'root', 'usr'].sort().join(', ')}) or a GPT type GUID`);
  if (t === 'root' || t === 'usr') {
    const arch = architectureOf(machine);
    if (!arch) {
      throw new UserError(
        `${who}: the Discoverable Partitions Specification has no ${t} type for the machine ${machine}`,
        `give the type as a GPT GUID, or use type = "linux-generic" (known machines: ${ARCHITECTURE_TYPES.flatMap((a) => a.machines[0]!).join(', ')})`,
      );
    }
    return arch[t];
  }
  return COMMON_GUIDS[t];
}

/** The MBR type byte for `type`. */
export function mbrType(type: string, who = `partition type ${type}`): number {
  const t = type.toLowerCase();
  if (MBR_BYTE.test(t)) {
    const byte = Number.parseInt(t.slice(2), 16);
    if (byte === 0) throw new UserError(`${who} has the type byte 0x00, which marks an unused MBR entry`, 'use the type byte of what the partition holds, such as 0x83 for Linux or 0x0c for FAT32');
    return byte;
  }
  if (GUID.test(t)) throw new UserError(`${who} has a GPT type GUID (${t}) as its type, but the disk has an MBR`, 'give a type name or an MBR type byte such as 0x0c, or set disk.table = "gpt"');
  if (!isName(t)) throw new UserError(`${who} has the unknown type ${JSON.stringify(type)}`, `use a type name (${Object.keys(MBR_TYPES).sort().join(', ')}) or an MBR type byte such as 0x0c`);
  if (t === 'bios-boot') throw new UserError(`${who} has the type bios-boot, which exists only on GPT disks`, 'set disk.table = "gpt", or leave the partition out: on an MBR disk the BIOS boot code lives in the gap before the first partition');
  return MBR_TYPES[t];
}

/** What a GPT type GUID is, in words: "root (x86-64)", "esp", or the GUID itself when kiln has no name for it. */
export function guidInWords(guid: string): string {
  const g = guid.toLowerCase();
  const common = Object.entries(COMMON_GUIDS).find(([, v]) => v === g);
  if (common) return common[0];
  for (const arch of ARCHITECTURE_TYPES) {
    if (arch.root === g) return `root (${arch.name})`;
    if (arch.usr === g) return `usr (${arch.name})`;
  }
  return g;
}

/** What an MBR type byte is, in words: the name given, or "0x0c". */
export function mbrTypeInWords(type: string, byte: number): string {
  const t = type.toLowerCase();
  return isName(t) ? t : `0x${byte.toString(16).padStart(2, '0')}`;
}

/** A planned partition's type in words for logs: "root (x86-64)", "esp", "0x0c". */
export function typeInWords(partition: PlannedPartition): string {
  if (partition.typeGuid) return guidInWords(partition.typeGuid);
  return mbrTypeInWords(partition.spec.type, partition.mbrType ?? 0);
}

/** A declared type in words before any plan, for messages: "root (x86-64)", "esp", "0x0c"; never throws. */
export function describeType(type: string, table: 'gpt' | 'mbr', machine: string): string {
  const t = type.toLowerCase();
  if (table === 'mbr' || MBR_BYTE.test(t)) return t;
  if (t === 'root' || t === 'usr') {
    const arch = architectureOf(machine);
    return arch ? `${t} (${arch.name})` : t;
  }
  return GUID.test(t) ? guidInWords(t) : t;
}
