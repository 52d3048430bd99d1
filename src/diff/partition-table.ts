/**
 * Reading a disk image's partition table for kiln diff: GPT (the primary
 * header at LBA 1, 512-byte sectors, as kiln writes it) or else MBR. Each
 * partition with its byte offset and size, type, GUID and name, and one line
 * describing it, which is what the report compares.
 */
import { open } from 'node:fs/promises';

export interface TablePartition {
  number: number;
  offset: number;
  size: number;
  /** GPT type GUID, or the MBR type byte as two hex digits. */
  type: string;
  /** GPT partition GUID (PARTUUID); MBR: SIGNATURE-NN. */
  uuid: string;
  name: string;
}

export interface PartitionTable {
  kind: 'gpt' | 'mbr';
  /** The GPT disk GUID, or the MBR signature (8 hex digits). */
  id: string;
  partitions: TablePartition[];
}

const SECTOR = 512;

/** A GUID as text from its mixed-endian bytes. */
function guidText(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex');
  const rev = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${rev(b.subarray(0, 4))}-${rev(b.subarray(4, 6))}-${rev(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`;
}

async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const fd = await open(file, 'r');
  try {
    const b = Buffer.alloc(length);
    const { bytesRead } = await fd.read(b, 0, length, position);
    return b.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
}

/** The disk's table, or undefined when it has none (no 0x55AA boot signature). */
export async function readPartitionTable(file: string): Promise<PartitionTable | undefined> {
  const mbr = await readAt(file, 0, SECTOR);
  if (mbr.length < SECTOR || mbr.readUInt16LE(510) !== 0xaa55) return undefined;
  const header = await readAt(file, SECTOR, 92);
  if (header.length === 92 && header.toString('latin1', 0, 8) === 'EFI PART') {
    const entriesLba = Number(header.readBigUInt64LE(72));
    const count = header.readUInt32LE(80);
    const entrySize = header.readUInt32LE(84);
    const entries = await readAt(file, entriesLba * SECTOR, count * entrySize);
    const partitions: TablePartition[] = [];
    for (let i = 0; i < count; i++) {
      const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
      if (e.length < 128 || e.subarray(0, 16).every((x) => x === 0)) continue;
      const first = Number(e.readBigUInt64LE(32));
      const last = Number(e.readBigUInt64LE(40));
      const name = e.subarray(56, 128).toString('utf16le').replace(/\0+$/, '');
      partitions.push({ number: i + 1, offset: first * SECTOR, size: (last - first + 1) * SECTOR, type: guidText(e.subarray(0, 16)), uuid: guidText(e.subarray(16, 32)), name });
    }
    return { kind: 'gpt', id: guidText(header.subarray(56, 72)), partitions };
  }
  const signature = mbr.readUInt32LE(440).toString(16).padStart(8, '0');
  const partitions: TablePartition[] = [];
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(446 + 16 * i, 462 + 16 * i);
    const type = e[4] as number;
    if (type === 0 || type === 0xee) continue;
    partitions.push({ number: i + 1, offset: e.readUInt32LE(8) * SECTOR, size: e.readUInt32LE(12) * SECTOR, type: type.toString(16).padStart(2, '0'), uuid: `${signature}-${(i + 1).toString(16).padStart(2, '0')}`, name: '' });
  }
  return { kind: 'mbr', id: signature, partitions };
}

/** The table in lines, for the report: the table's own first, then one per partition. */
export function describeTable(t: PartitionTable): string[] {
  return [
    `${t.kind} disk ${t.kind === 'gpt' ? 'GUID' : 'signature'} ${t.id}`,
    ...t.partitions.map((p) => `partition ${p.number}: start ${p.offset} size ${p.size} type ${p.type} ${t.kind === 'gpt' ? 'GUID' : 'PARTUUID'} ${p.uuid}${p.name ? ` name ${JSON.stringify(p.name)}` : ''}`),
  ];
}
