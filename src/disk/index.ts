/**
 * The disk's public surface: plan a layout (pure), say it in lines, write
 * its table and the image. Other modules import from here only.
 */
export type { BlobSpec, DiskLayout, LayoutRequest, PartitionAttribute, PartitionSpec, PartitionTypeName, PlannedPartition, TableKind, TablePiece } from './types.ts';
export { PARTITION_ATTRIBUTES, PARTITION_TYPE_NAMES } from './types.ts';
export { planLayout } from './layout.ts';
export { tablePieces, writeDiskImage, type WriteOptions } from './assemble.ts';
export { parseQemuImgMap, qemuImgExtents, type Extent, type ExtentFinder } from './extents.ts';
export { sparseSha256 } from './digest.ts';
export { layoutLines } from './describe.ts';
export { attributeBits, describeType, guidInWords, mbrType, typeGuid, typeInWords } from './partition-types.ts';
export { diskGuid, filesystemUuid, mbrSignature, partitionGuid, seededId32, seededUuid } from './seed.ts';
export { formatSize } from './sizes.ts';
