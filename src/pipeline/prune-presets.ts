/**
 * prune.presets: named sets of paths that small images do without. Each
 * preset is data: the patterns it removes (prune.remove's syntax), an
 * optional `keep` that spares some of the matches, and the dpkg
 * `path-exclude` / `path-include` lines that make later package installs in
 * the image leave out the same files (written only into a tree that has
 * /etc/dpkg/dpkg.cfg.d, as Debian's minimal container images do).
 * A registry: an unknown name is refused by the settings table, which lists
 * these names.
 */

export const PRUNE_PRESET_NAMES = ['docs', 'man', 'locales', 'headers', 'static-libs', 'apk-cache', 'python-bytecode'] as const;
export type PrunePresetName = (typeof PRUNE_PRESET_NAMES)[number];

export interface PruneOptions {
  /** prune.keep-locales. */
  keepLocales: readonly string[];
}

export interface PrunePreset {
  /** Why an image can do without it (the README's table says the same). */
  reason: string;
  patterns: readonly string[];
  /** A match (relative path, and whether it is a real directory) that stays. */
  keep?(rel: string, isDirectory: boolean, opts: PruneOptions): boolean;
  /** dpkg.cfg lines, in order (dpkg applies them in order, the last match wins). */
  dpkg(opts: PruneOptions): string[];
}

const base = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);

/** A locale directory (de, de_DE, de_DE.UTF-8, sr@latin) kept by a keep-list entry: the same name, or it with a territory, codeset or modifier. */
export function localeKept(name: string, keep: readonly string[]): boolean {
  return keep.some((k) => name === k || name.startsWith(`${k}_`) || name.startsWith(`${k}.`) || name.startsWith(`${k}@`));
}

export const PRUNE_PRESETS: Record<PrunePresetName, PrunePreset> = {
  docs: {
    reason: 'documentation nobody reads on a device; the copyright files stay (licences, and the manifest reads them)',
    patterns: ['usr/share/doc/*/*', 'usr/share/info/*', 'usr/share/gtk-doc/*', 'usr/share/doc-base/*'],
    keep: (rel) => /^usr\/share\/doc\/[^/]+\/copyright$/.test(rel),
    dpkg: () => ['path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright', 'path-exclude=/usr/share/info/*', 'path-exclude=/usr/share/gtk-doc/*', 'path-exclude=/usr/share/doc-base/*'],
  },
  man: {
    reason: 'manual pages (every language) need man and groff, which small images rarely have',
    patterns: ['usr/share/man/*'],
    dpkg: () => ['path-exclude=/usr/share/man/*'],
  },
  locales: {
    reason: 'message catalogues of the languages not in prune.keep-locales; locale.alias and other files beside them stay',
    patterns: ['usr/share/locale/*'],
    keep: (rel, isDirectory, opts) => !isDirectory || localeKept(base(rel), opts.keepLocales),
    dpkg: (opts) => [
      'path-exclude=/usr/share/locale/*/*',
      ...opts.keepLocales.flatMap((k) => [`${k}/*`, `${k}_*`, `${k}.*`, `${k}@*`].map((p) => `path-include=/usr/share/locale/${p}`)),
    ],
  },
  headers: {
    reason: 'C headers are for compiling, which happens on the build machine',
    patterns: ['usr/include/*', 'usr/local/include/*'],
    dpkg: () => ['path-exclude=/usr/include/*'],
  },
  'static-libs': {
    reason: 'static libraries (*.a) are only linked into programs at build time',
    patterns: ['usr/lib/**/*.a', 'usr/lib64/**/*.a', 'lib/**/*.a', 'usr/local/lib/**/*.a'],
    keep: (_rel, isDirectory) => isDirectory,
    dpkg: () => ['path-exclude=/usr/lib/*.a', 'path-exclude=/usr/lib64/*.a'],
  },
  'apk-cache': {
    reason: "apk's package cache: the packages are installed already",
    patterns: ['var/cache/apk/*'],
    dpkg: () => [],
  },
  'python-bytecode': {
    reason: 'compiled Python (__pycache__, *.pyc, *.pyo) is made again from the sources when needed (at the cost of a slower first start)',
    patterns: ['usr/lib/python*/**/__pycache__', 'usr/lib/python*/**/*.py[co]', 'usr/local/lib/python*/**/__pycache__', 'usr/local/lib/python*/**/*.py[co]'],
    dpkg: () => [],
  },
};
