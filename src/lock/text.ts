/**
 * kiln.lock as text: TOML, written by hand here so that it is stable (the
 * same lock, the same bytes) and diff-friendly: one image per [[image]]
 * table, its scalar facts one per line, and one package per line, sorted by
 * name and architecture, so that a changed version is a one-line diff.
 * TOML rather than JSON: it takes the comment at the top, it is what
 * kiln.toml is written in, and a line per package needs no trailing-comma
 * churn. Read back with the TOML parser kiln.toml uses, and checked.
 */
import { parse } from 'smol-toml';
import { UserError } from '../util/errors.ts';
import type { FormatName } from '../catalog/index.ts';
import type { LockedPackage } from '../formats/types.ts';
import { LOCK_VERSION, type LockedImage, type LockFile } from './types.ts';

const HEADER = [
  '# kiln.lock: the exact package set of each image this directory builds, written by `kiln lock`.',
  '# kiln build installs exactly this set; `kiln lock --update` resolves it again. Keep it in git; do not edit it.',
];

/** A TOML string (basic, escaped). */
function str(s: string): string {
  return JSON.stringify(s).replace(/\\u007f/g, '\\u007F');
}

function value(v: unknown): string {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(value).join(', ')}]`;
  if (v && typeof v === 'object') return inline(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)));
  // null (an unset optional setting) has no TOML form: it is written as an empty table.
  return '{}';
}

function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : str(k);
}

function inline(entries: [string, unknown][]): string {
  return entries.length ? `{ ${entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${key(k)} = ${value(v)}`).join(', ')} }` : '{}';
}

function packageLine(p: LockedPackage): string {
  const entries: [string, unknown][] = [
    ['name', p.name],
    ['version', p.version],
    ['architecture', p.architecture],
    ['size', p.size],
    ['sha256', p.sha256],
    ['url', p.url],
    ['index-checksum', p.indexChecksum],
    ['facts', p.facts],
  ];
  return `  ${inline(entries)},`;
}

export function byName(a: LockedPackage, b: LockedPackage): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.architecture < b.architecture ? -1 : a.architecture > b.architecture ? 1 : 0;
}

/** The file's text: images sorted by id, packages by name and architecture, every list that has no order of its own sorted. */
export function formatLock(lock: LockFile): string {
  const lines = [...HEADER, `version = ${lock.version}`];
  for (const image of [...lock.images].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    lines.push('', '[[image]]');
    const scalars: [string, unknown][] = [
      ['id', image.id],
      ['distribution', image.distribution],
      ['release', image.release],
      ['architecture', image.architecture],
      ['profiles', image.profiles],
      ['format', image.format],
      ['locked', new Date(image.locked * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')],
      ['config-digest', image.configDigest],
      ['source-date-epoch', image.sourceDateEpoch],
      ['source-date-epoch-from', image.sourceDateEpochFrom],
      ['repository-date', image.repositoryDate],
      ['newest-package-date', image.newestPackageDate],
      ['mirrors', image.mirrors],
      ['keyring-fingerprints', [...image.keyringFingerprints].sort()],
      ['repository-indexes', image.repositoryIndexes],
    ];
    for (const [k, v] of scalars) if (v !== undefined) lines.push(`${k} = ${value(v)}`);
    lines.push('packages = [', ...[...image.packages].sort(byName).map(packageLine), ']');
    lines.push('', '[image.inputs]');
    for (const [k, v] of Object.entries(image.inputs).sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`${key(k)} = ${value(v)}`);
  }
  return lines.join('\n') + '\n';
}

/** Reads kiln.lock's text; `file` names it in errors. */
export function parseLock(text: string, file: string): LockFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw broken(file, `not TOML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc.version !== LOCK_VERSION) throw broken(file, `lock version ${JSON.stringify(doc.version)}, this kiln reads version ${LOCK_VERSION}`);
  const images = doc.image ?? [];
  if (!Array.isArray(images)) throw broken(file, 'image is not a list of tables');
  return { version: LOCK_VERSION, images: images.map((i, n) => readImage(i as Record<string, unknown>, `${file}: image ${n + 1}`)) };
}

function broken(file: string, why: string): UserError {
  return new UserError(`${file}: ${why}`, 'run kiln lock --update to write it again');
}

function readImage(t: Record<string, unknown>, where: string): LockedImage {
  const s = (k: string) => {
    if (typeof t[k] !== 'string') throw broken(where, `${k} is not a string`);
    return t[k] as string;
  };
  const n = (k: string) => {
    if (typeof t[k] !== 'number') throw broken(where, `${k} is not a number`);
    return t[k] as number;
  };
  const list = (k: string) => {
    const v = t[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw broken(where, `${k} is not a list of strings`);
    return v as string[];
  };
  const locked = Date.parse(s('locked'));
  if (Number.isNaN(locked)) throw broken(where, `locked is not a date`);
  if (!Array.isArray(t.packages)) throw broken(where, 'packages is not a list');
  const inputs = t.inputs;
  if (!inputs || typeof inputs !== 'object') throw broken(where, 'no [image.inputs]');
  return {
    id: s('id'),
    distribution: s('distribution'),
    release: s('release'),
    architecture: s('architecture'),
    profiles: list('profiles'),
    format: s('format') as FormatName,
    locked: locked / 1000,
    configDigest: s('config-digest'),
    inputs: { ...inputs } as Record<string, unknown>,
    sourceDateEpoch: n('source-date-epoch'),
    sourceDateEpochFrom: s('source-date-epoch-from'),
    repositoryDate: n('repository-date'),
    ...(t['newest-package-date'] !== undefined ? { newestPackageDate: n('newest-package-date') } : {}),
    mirrors: list('mirrors'),
    keyringFingerprints: list('keyring-fingerprints'),
    ...(t['repository-indexes'] !== undefined ? { repositoryIndexes: list('repository-indexes') } : {}),
    packages: (t.packages as Record<string, unknown>[]).map((p, i) => readPackage(p, `${where}: package ${i + 1}`)),
  };
}

function readPackage(p: Record<string, unknown>, where: string): LockedPackage {
  for (const k of ['name', 'version', 'architecture', 'sha256', 'url']) if (typeof p[k] !== 'string') throw broken(where, `${k} is not a string`);
  if (typeof p.size !== 'number') throw broken(where, 'size is not a number');
  if (!/^[0-9a-f]{64}$/.test(p.sha256 as string)) throw broken(where, `sha256 ${JSON.stringify(p.sha256)} is not 64 hex digits`);
  const facts = { ...(p.facts as object) } as Record<string, string | number | boolean>;
  return {
    name: p.name as string,
    version: p.version as string,
    architecture: p.architecture as string,
    size: p.size as number,
    sha256: p.sha256 as string,
    url: p.url as string,
    ...(typeof p['index-checksum'] === 'string' ? { indexChecksum: p['index-checksum'] } : {}),
    facts,
  };
}
