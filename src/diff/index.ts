/** `kiln diff`: two images or trees compared path by path and explained by package. */
export { ASPECTS, compareListings, type Aspect, type PathChange } from './compare.ts';
export { diffImages, type DiffOptions, type DiffReport } from './diff-images.ts';
export { groupByPackage, type PackageGroup } from './group.ts';
export { INPUT_READERS, listInput, readerFor } from './inputs.ts';
export { readPackageView, type PackageView } from './owners.ts';
export { formatHtmlReport } from './report-html.ts';
export { formatTextReport, reportJson } from './report-text.ts';
export { unifiedDiff } from './text-diff.ts';
export type { DiffEntry, InputReader, ListedInput, Listing } from './types.ts';
