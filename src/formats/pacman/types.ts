/**
 * What the pacman format works with: one package as a repository database
 * describes it (the `desc` entry of REPO.db), and the repositories to search.
 */

export interface PacmanPackage {
  /** The repository it was read from (core, extra, alarm, a third-party name). */
  repo: string;
  name: string;
  /** Full version: [epoch:]pkgver-pkgrel. */
  version: string;
  base?: string;
  desc?: string;
  url?: string;
  arch: string;
  /** File name in the repository directory (NAME-VER-ARCH.pkg.tar.zst). */
  filename: string;
  /** Download size (%CSIZE%). */
  csize: number;
  /** Installed size (%ISIZE%). */
  isize: number;
  sha256: string;
  /** Base64 detached signature from %PGPSIG%, when the database carries it. */
  pgpsig?: string;
  builddate?: number;
  packager?: string;
  license: string[];
  groups: string[];
  /** Relations exactly as written: "name", "name>=1.2", "libfoo.so=1-64". */
  depends: string[];
  optdepends: string[];
  makedepends: string[];
  checkdepends: string[];
  provides: string[];
  conflicts: string[];
  replaces: string[];
}

/** A repository as searched by the resolver: first match wins, in configuration order. */
export interface PacmanRepository {
  name: string;
  packages: PacmanPackage[];
}

/** A relation: `name`, or `name OP version` with OP one of < <= = >= >. */
export interface PacmanRelation {
  name: string;
  op?: '<' | '<=' | '=' | '>=' | '>';
  version?: string;
  /** What follows `: ` in an optdepends entry ("gamma: for gamma things"). */
  description?: string;
}
