/**
 * Outputs: one writer module per format (directory.ts, tar.ts) behind one
 * registry (registry.ts), run in the order their declarations imply
 * (order.ts), with their host tools checked before the build (tools.ts), and
 * written all or nothing with their records, manifest and SBOM (write.ts,
 * records.ts).
 */
export { OUTPUTS, OUTPUT_FORMATS, type OutputFormat } from './registry.ts';
export type { HostTool, OutputDetails, OutputRegistry, OutputWriter, TreeFacts, WriterInput } from './writer.ts';
export { writerOrder } from './order.ts';
export { checkOutputTools, outputTools, type FindTool, type OutputTools } from './tools.ts';
export { outputPath, writeOutputs, type OutputRecord, type OutputRequest, type Written } from './write.ts';
export { imageRecords, type ImageFacts } from './records.ts';
export { buildManifest, cyclonedxPath, fileDigest, manifestPath, outputsUpToDate, sbomPath, type Manifest, type ManifestOutput } from './manifest.ts';
export { checkDisk, prepareDiskTree } from './disk-tree.ts';
export { fstabEntries, fstabText, rootIdentifiers, type FstabEntry } from './fstab.ts';
export { diskConfig, diskPartitions, type DiskConfig, type DiskPartition } from './partition-plan.ts';
export { buildSbom, licenseExpression } from './sbom.ts';
export { buildCycloneDx } from './sbom-cyclonedx.ts';
