/**
 * Where an Alpine install's repositories are: each configured repository
 * (and third-party one) as the URL of its directory for the architecture,
 * the line /etc/apk/repositories gets for it, and whether it is signed. A
 * mirror is the part before `/$release/$repo/$arch` (as Alpine's mirrors
 * are laid out), unless it has placeholders of its own. A third-party
 * repository may carry a tag (apk-repositories(5): `@tag URL`), and is then
 * used only for what is pinned to it.
 */
import type { Config } from '../../config/index.ts';
import { ALPINE_REPOSITORY_PATH, alpineRepositoryProblem } from '../../catalog/alpine.ts';
import { UserError } from '../../util/errors.ts';

export interface ApkSource {
  name: string;
  /** The repository's directory for the architecture (APKINDEX.tar.gz and the .apk files are in it). */
  url: string;
  /** Its line in /etc/apk/repositories (apk adds /$arch itself; `@tag URL` for a tagged one). */
  line: string;
  /** `@tag`: the repository is used only for what is pinned to it (name@tag). */
  tag?: string;
  signed: boolean;
  /** Trust anchors of a third-party repository; the distribution's when undefined. */
  keyring?: string[];
  third: boolean;
}

/** What a repository tag may be: apk takes it as a dependency name's suffix (name@tag). */
const TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** `pattern` with $release, $repo and $arch filled in, no trailing slash. */
function fill(pattern: string, release: string, repo: string, arch: string): string {
  return pattern.replaceAll('$release', release).replaceAll('$repo', repo).replaceAll('$arch', arch).replace(/\/+$/, '');
}

/** A mirror as the user gives it: a base URL, or a whole pattern when it has a placeholder. */
function mirrorPattern(mirror: string): string {
  return mirror.includes('$') ? mirror : `${mirror.replace(/\/+$/, '')}${ALPINE_REPOSITORY_PATH}`;
}

/** The repository line for the image: the directory above the architecture's, as apk wants it. */
function repositoryLine(url: string, arch: string): string {
  return url.endsWith(`/${arch}`) ? url.slice(0, -arch.length - 1) : url;
}

export function apkSources(config: Config): ApkSource[] {
  const arch = config['distribution.architecture'];
  const release = config['distribution.release'];
  const signed = config['distribution.verify-signatures'];
  const mirrors = config['distribution.repository-mirrors'];
  const sources: ApkSource[] = config['distribution.repositories'].map((name) => {
    const problem = alpineRepositoryProblem(name, release);
    if (problem) throw new UserError(`distribution.repositories: ${problem}`, 'use main and community on a stable branch, or set distribution.release = "edge"');
    const url = fill(mirrorPattern(mirrors[name] ?? config['distribution.mirror']), release, name, arch);
    return { name, url, line: repositoryLine(url, arch), signed, third: false };
  });
  for (const extra of config['distribution.extra-repositories']) {
    if (extra.architectures && !extra.architectures.includes(arch)) continue;
    const server = extra.server.includes('$arch') ? extra.server : `${extra.server.replace(/\/+$/, '')}/$arch`;
    const url = fill(server, release, extra.name, arch);
    const tag = extra.tag;
    if (tag !== undefined && !TAG.test(tag)) throw new UserError(`distribution.extra-repositories: tag ${JSON.stringify(tag)} of ${extra.name} is not a repository tag`, 'a tag is a word of letters, digits, ".", "_", "+" and "-", e.g. edge, without the @');
    const line = repositoryLine(url, arch);
    sources.push({ name: extra.name, url, line: tag !== undefined ? `@${tag} ${line}` : line, ...(tag !== undefined ? { tag } : {}), signed: signed && extra['signature-level'] !== 'never', keyring: extra.keyring, third: true });
  }
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.name)) throw new UserError(`repository "${s.name}" is listed twice`, 'give each repository in distribution.repositories and extra-repositories its own name');
    seen.add(s.name);
  }
  return sources;
}
