/**
 * The shapes of a disk layout: what the user declares (PartitionSpec,
 * BlobSpec, LayoutRequest) and the plan kiln computes once from it and the
 * content's measured needs (DiskLayout), then carries out. This module and
 * the table writers beside it import nothing else from kiln.
 */

export type TableKind = 'gpt' | 'mbr';

/** Partition types by name: Discoverable Partitions (root and usr per architecture), the ESP, BIOS boot, swap, ... */
export const PARTITION_TYPE_NAMES = ['esp', 'xbootldr', 'bios-boot', 'root', 'usr', 'home', 'srv', 'var', 'tmp', 'swap', 'linux-generic'] as const;
export type PartitionTypeName = (typeof PARTITION_TYPE_NAMES)[number];

/** GPT attribute bits: required (0), no-block-io (1), legacy-bios-bootable (2), and the Discoverable Partitions' grow-fs (59), read-only (60), no-auto (63). */
export const PARTITION_ATTRIBUTES = ['required', 'no-block-io', 'legacy-bios-bootable', 'read-only', 'no-auto', 'grow-fs'] as const;
export type PartitionAttribute = (typeof PARTITION_ATTRIBUTES)[number];

/** One partition as declared, sizes in bytes (the config kinds have parsed "256M"). */
export interface PartitionSpec {
  /** A PartitionTypeName, a GPT type GUID, or (MBR) a type byte written "0x0c". */
  type: string;
  /** GPT partition name (at most 36 UTF-16 code units). */
  label?: string;
  /** A fixed size, or "auto" (from the content's needs plus headroom). Default: auto. */
  size?: number | 'auto';
  minimum?: number;
  maximum?: number;
  /** Takes what a fixed disk.size leaves (shared by weight among the partitions that grow). */
  grow?: boolean;
  /** Share of the space left among the partitions that grow (default 1000). */
  weight?: number;
  /** An exact byte offset (genimage's `offset`); otherwise placed after the previous one, aligned. */
  offset?: number;
  attributes?: readonly PartitionAttribute[];
  /** MBR: the boot flag (0x80). GPT: ignored (use legacy-bios-bootable). */
  bootable?: boolean;
  /** An explicit partition GUID (GPT); otherwise derived from the seed. */
  uuid?: string;
}

/** A raw blob written at an exact offset outside the partition table (a SoC boot ROM's loader). */
export interface BlobSpec {
  /** For messages: the blob's file name. */
  name: string;
  offset: number;
  size: number;
}

export interface LayoutRequest {
  table: TableKind;
  /** A fixed size, or auto: the partitions' sum plus the table's own space, rounded to the alignment. */
  diskSize: number | 'auto';
  /** Partition start and size alignment in bytes (default 1 MiB). */
  alignment: number;
  /** The target's machine as uname -m says it (x86_64, aarch64, riscv64, ...): picks the root/usr type GUIDs. */
  machine: string;
  /** Every GUID and the MBR disk signature derive from it. */
  seed: string;
  partitions: readonly {
    spec: PartitionSpec;
    /** Bytes the partition's filesystem needs for its content before headroom (0 for an empty or raw partition). */
    needed: number;
    /** Bytes the partition needs on top of `needed` as headroom (the caller turns "20%" into bytes). */
    headroom: number;
    /** What the partition is, for messages: "partition 2 (root, ext4)". */
    describe: string;
  }[];
  blobs: readonly BlobSpec[];
}

export interface PlannedPartition {
  /** 1-based, in the table's order. */
  number: number;
  spec: PartitionSpec;
  /** GPT: the type GUID (lower case). MBR: undefined. */
  typeGuid?: string;
  /** MBR: the type byte. GPT: undefined. */
  mbrType?: number;
  /** GPT: the partition GUID. MBR: undefined (PARTUUID is SIGNATURE-NN, see partUuid). */
  uuid?: string;
  /** What the kernel and blkid call PARTUUID: the GPT GUID, or for MBR the disk signature and number ("1a2b3c4d-02"). */
  partUuid: string;
  label?: string;
  offset: number;
  size: number;
  /** GPT attribute bits as a 64-bit value. */
  attributes: bigint;
}

export interface DiskLayout {
  table: TableKind;
  size: number;
  sectorSize: 512;
  /** GPT: the disk GUID. */
  diskGuid?: string;
  /** MBR (and the GPT's protective MBR: 0): the 32-bit disk signature. */
  diskSignature: number;
  partitions: PlannedPartition[];
  blobs: readonly BlobSpec[];
}

/** A piece of the disk image the table writer produces: `bytes` go at byte offset `at`. */
export interface TablePiece {
  at: number;
  bytes: Uint8Array;
}
