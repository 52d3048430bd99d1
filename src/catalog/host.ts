/**
 * What the host is: its distribution and release (/etc/os-release) and the
 * mirrors its apt is configured with. These give the defaults when there is
 * no kiln.toml, so that `kiln build` alone builds "the host's system".
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface HostRelease {
  id?: string;
  idLike: string[];
  codename?: string;
}

export function readOsRelease(file = '/etc/os-release'): HostRelease {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { idLike: [] };
  }
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1] as string, (m[2] as string).replace(/^["']|["']$/g, ''));
  }
  return {
    id: fields.get('ID'),
    idLike: (fields.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    codename: fields.get('VERSION_CODENAME') || undefined,
  };
}

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  file: string;
}

/** The `deb` entries of the host's apt configuration, one-line and deb822 styles. */
export function readAptSources(dir = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const files = [join(dir, 'sources.list')];
  try {
    for (const name of readdirSync(join(dir, 'sources.list.d')).sort()) files.push(join(dir, 'sources.list.d', name));
  } catch {
    /* no sources.list.d */
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (file.endsWith('.list')) sources.push(...parseOneLineSources(text, file));
    else if (file.endsWith('.sources')) sources.push(...parseDeb822Sources(text, file));
  }
  return sources;
}

function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const words = line.replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
    if (words[0] !== 'deb' || words.length < 3) continue;
    out.push({ uri: words[1] as string, suites: [words[2] as string], components: words.slice(3), file });
  }
  return out;
}

function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set((m[1] as string).toLowerCase(), m[2] as string);
    }
    if (fields.get('enabled')?.toLowerCase() === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const words = (key: string) => (fields.get(key) ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words('uris')) out.push({ uri, suites: words('suites'), components: words('components'), file });
  }
  return out;
}

/**
 * The host's mirror for a distribution's main archive: the first apt source
 * carrying `main` for a suite that is a plain release (not -security,
 * -updates, -backports), when the host runs that distribution.
 */
export function hostMirrorFor(distribution: string, sources = readAptSources(), host = readOsRelease()): string | undefined {
  if (host.id !== distribution) return undefined;
  for (const source of sources) {
    if (!source.components.includes('main')) continue;
    if (source.suites.some((s) => !/-(security|updates|backports|proposed)$/.test(s) && !s.includes('/'))) {
      return source.uri.replace(/\/+$/, '');
    }
  }
  return undefined;
}
