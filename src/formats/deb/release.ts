/**
 * The signed Release file (InRelease) of a Debian archive suite: which index
 * files exist, with their sizes and SHA256 sums.
 */
import { parseStanzas, field } from './control.ts';
import { UserError } from '../../util/errors.ts';

export interface ReleaseFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Release {
  suite?: string;
  codename?: string;
  /** Seconds since the epoch (from `Date:`; 0 when it has none). */
  date: number;
  /** Seconds since the epoch (from `Valid-Until:`), when the archive sets one. */
  validUntil?: number;
  architectures: string[];
  components: string[];
  files: Map<string, ReleaseFile>;
}

export function parseRelease(text: string, source: string): Release {
  const stanza = parseStanzas(text)[0];
  if (!stanza) throw new UserError(`${source}: empty Release file`);
  const files = new Map<string, ReleaseFile>();
  for (const line of (field(stanza, 'SHA256') ?? '').split('\n')) {
    const [sha256, size, path] = line.trim().split(/\s+/);
    if (sha256 && size && path) files.set(path, { path, size: Number(size), sha256 });
  }
  if (files.size === 0) throw new UserError(`${source}: Release file lists no SHA256 sums`, 'kiln only trusts archives that publish SHA256 sums');
  const date = Date.parse(field(stanza, 'Date') ?? '');
  const validUntilText = field(stanza, 'Valid-Until');
  const validUntil = validUntilText === undefined ? undefined : Date.parse(validUntilText);
  if (validUntil !== undefined && Number.isNaN(validUntil)) {
    throw new UserError(`${source}: unreadable Valid-Until date ${JSON.stringify(validUntilText)}`, 'the mirror may be broken; try another mirror');
  }
  return {
    suite: field(stanza, 'Suite'),
    codename: field(stanza, 'Codename'),
    date: Number.isNaN(date) ? 0 : Math.floor(date / 1000),
    ...(validUntil === undefined ? {} : { validUntil: Math.floor(validUntil / 1000) }),
    architectures: (field(stanza, 'Architectures') ?? '').split(/\s+/).filter(Boolean),
    components: (field(stanza, 'Components') ?? '').split(/\s+/).filter(Boolean),
    files,
  };
}

/**
 * The release asked for must be the one the Release file describes: apt
 * accepts a match of either `Suite` (stable, testing) or `Codename`
 * (bookworm). Anything else is refused: a mirror serving trixie, or an old
 * signed Release, under the name bookworm. (A Release that names neither is
 * taken, as apt takes it.)
 */
export function checkReleaseName(release: Release, asked: string, source: string): void {
  const names = [release.suite, release.codename].filter((n): n is string => n !== undefined);
  if (names.length === 0 || names.includes(asked)) return;
  const says = [release.suite && `Suite: ${release.suite}`, release.codename && `Codename: ${release.codename}`].filter(Boolean).join(', ');
  throw new UserError(
    `${source} is not the release asked for: distribution.release is "${asked}", the Release says ${says}`,
    'the mirror serves another release (or an old one) under this name; check distribution.release and distribution.mirror',
  );
}

/** The best compressed variant of an index that the Release lists: xz, then gz, then plain. */
export function pickIndex(release: Release, base: string): { file: ReleaseFile; compression: 'xz' | 'gz' | 'none' } | undefined {
  for (const [suffix, compression] of [['.xz', 'xz'], ['.gz', 'gz'], ['', 'none']] as const) {
    const file = release.files.get(base + suffix);
    if (file) return { file, compression };
  }
  return undefined;
}
