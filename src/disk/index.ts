/**
 * The disk's public surface: plan a layout (pure), say it in lines, write
 * its table and the image. Other modules import from here only.
 */
export type { BlobSpec, DiskLayout, LayoutRequest, PartitionAttribute, PartitionSpec, PartitionTypeName, PlannedPartition, TableKind, TablePiece } from './types.ts';
export { PARTITION_ATTRIBUTES, PARTITION_TYPE_NAMES } from './types.ts';
export { planLayout } from './layout.ts';
export { tablePieces, writeDiskImage } from './assemble.ts';
export { layoutLines } from './describe.ts';
export { attributeBits, guidInWords, mbrType, typeGuid, typeInWords } from './partition-types.ts';
export { diskGuid, filesystemUuid, mbrSignature, partitionGuid, seededId32, seededUuid } from './seed.ts';
export { formatSize } from './sizes.ts';
