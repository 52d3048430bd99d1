/** The pacman package format: versions and relations, repository databases, resolution. */
export type { PacmanPackage, PacmanRelation, PacmanRepository } from './types.ts';
export {
  comparePacmanVersions,
  formatRelation,
  packageSatisfies,
  parseRelation,
  provisionSatisfies,
  relationSatisfiedBy,
  satisfies,
  type PacmanVersionOp,
  type Satisfier,
} from './version.ts';
export { formatDesc, packageFromDesc, parseDesc, readRepoDb, type DescFields } from './db.ts';
export { resolvePacman, type PacmanPlan, type PacmanResolveOptions } from './resolve.ts';
