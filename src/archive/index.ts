/** The archive layer: compression tools, ar/.deb, tar read/write, safe extraction. */
export type { TarEntry, TarEntryType } from './types.ts';
export { ArchiveError } from './errors.ts';
export { compress, compressionFromName, decompress, decompressMember, type Compression } from './decompress.ts';
export { readAr, readDeb, type ArMember, type DebPart, type DebParts } from './ar.ts';
export { normalizeTarPath, parseTar, readTar, type ReadTarOptions, type TarBody, type TarItem } from './tar-read.ts';
export { encodeHeader, TarWriter } from './tar-write.ts';
export { parseGetfattr, readXattrs, sortBytewise, writeTreeAsTar, type TreeTarOptions, type XattrMap } from './tree-tar.ts';
export { NotADirectoryError, resolveInRoot, type ResolveOptions } from './resolve.ts';
export { createExtractor, extractTar, Extractor, safeComponents, type ExtractOptions, type ExtractResult } from './extract.ts';
export { walkTree, type TreePath, type TreeEntryType } from './tree-walk.ts';
export { newcHeader, newcTrailer, NEWC_MAX, type NewcEntry } from './cpio-write.ts';
export { writeTreeAsCpio, type TreeCpioOptions, type TreeCpioResult } from './tree-cpio.ts';
