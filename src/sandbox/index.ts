export { planIdMapping, parseSubIds, mappingFromRanges, NEEDED_IDS, type IdMapping, type IdRange } from './idmap.ts';
export { spawnInNamespace, NamespaceError, PARENT_PIPE_FD, USERNS_HINT, type NamespaceOptions, type NamespaceChild } from './namespace.ts';
export { runInRoot, binfmtRegistration, hostBinfmtFor, escapesToHex, DEFAULT_PATH, type BinfmtEntry, type RootRunOptions } from './root.ts';
