/** The Debian package format: versions, control data, indexes, resolution. */
export { compareVersions, satisfiesVersion, type ObsoleteVersionOp, type VersionOp } from './version.ts';
export { field, formatStanza, parseStanzas, type Stanza } from './control.ts';
export { formatRelation, formatRelationGroup, parseRelations, type Relation } from './relations.ts';
export { packageFromStanza, parsePackages, type DebPackage, type MultiArch } from './packages.ts';
export { resolveDependencies, type ResolvedPlan, type ResolveOptions } from './resolve.ts';
export { selectBaseSet, type BaseVariant } from './base-set.ts';
export { fetchPackagesIndex, fetchRelease, type ArchiveAccess } from './archive.ts';
