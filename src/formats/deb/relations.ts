/**
 * Relationship fields (Depends, Pre-Depends, Recommends, Provides,
 * Conflicts, Breaks, Replaces): `a (>= 1) | b:any [amd64 !i386], c`.
 * Commas separate requirements that must all hold, `|` separates
 * alternatives. Build profiles (`<!nocheck>`) are accepted and ignored.
 */

import { UserError } from '../../util/errors.ts';
import type { VersionOp } from './version.ts';

export interface Relation {
  name: string;
  /** From `name:qualifier`: 'any', 'native' or an architecture. */
  archQualifier?: string;
  op?: VersionOp;
  version?: string;
  /** From `[amd64 !i386]`, as written. */
  archRestriction?: string[];
}

const NAME = '([A-Za-z0-9][A-Za-z0-9+._-]*)';
const ARCH_QUALIFIER = '(?::([A-Za-z0-9-]+))?';
const VERSION = '(?:\\(\\s*(<<|<=|>=|>>|=|<|>)\\s*([^\\s()<>=]+)\\s*\\))?';
const ARCH_LIST = '(?:\\[([^\\]]*)\\])?';
const BUILD_PROFILES = '(?:<[^<>]*>\\s*)*';
const RELATION = new RegExp(`^\\s*${NAME}${ARCH_QUALIFIER}\\s*${VERSION}\\s*${ARCH_LIST}\\s*${BUILD_PROFILES}$`);

const OBSOLETE_OPS: Record<string, VersionOp> = { '<': '<=', '>': '>=' };

function parseRelation(text: string): Relation {
  const match = RELATION.exec(text);
  if (match === null) throw new UserError(`cannot parse package relation "${text.trim()}"`);
  const [, name, archQualifier, op, version, archList] = match;
  const relation: Relation = { name: name! };
  if (archQualifier !== undefined) relation.archQualifier = archQualifier;
  if (op !== undefined) {
    relation.op = OBSOLETE_OPS[op] ?? (op as VersionOp);
    relation.version = version!;
  }
  if (archList !== undefined) relation.archRestriction = archList.split(/\s+/).filter((arch) => arch !== '');
  return relation;
}

/** Parse a relationship field: the outer list must all hold, each inner list is alternatives. */
export function parseRelations(text: string): Relation[][] {
  const groups: Relation[][] = [];
  for (const groupText of text.split(',')) {
    if (groupText.trim() === '') continue;
    groups.push(groupText.split('|').map(parseRelation));
  }
  return groups;
}

/** `name:qual (op version)`, for messages. */
export function formatRelation(relation: Relation): string {
  let text = relation.archQualifier === undefined ? relation.name : `${relation.name}:${relation.archQualifier}`;
  if (relation.op !== undefined) text += ` (${relation.op} ${relation.version})`;
  if (relation.archRestriction !== undefined) text += ` [${relation.archRestriction.join(' ')}]`;
  return text;
}

/** `a | b (>= 1)`, for messages. */
export function formatRelationGroup(group: readonly Relation[]): string {
  return group.map(formatRelation).join(' | ');
}

