/**
 * What the apk format works with: one package as an APKINDEX record (or
 * /lib/apk/db/installed entry) describes it, and the repositories the
 * resolver searches, in configuration order.
 */

export interface ApkPackage {
  /** The repository it was read from (main, community, a third-party name). */
  repo: string;
  /** C: the package's checksum, `Q1` + base64 SHA1 of its control stream. */
  checksum: string;
  name: string;
  version: string;
  arch: string;
  /** S: size of the .apk file. */
  size: number;
  /** I: installed size. */
  installedSize: number;
  description: string;
  url: string;
  license: string;
  origin?: string;
  maintainer?: string;
  buildTime?: number;
  commit?: string;
  /** k: priority of this package among the providers of a name it provides without a version. */
  providerPriority?: number;
  /** D:, p:, i: as written (`so:libc.musl-x86_64.so.1`, `cmd:sh=1.36`, `!foo`, `bar>=2`). */
  depends: string[];
  provides: string[];
  installIf: string[];
}

export interface ApkRepository {
  name: string;
  /** `@tag` in /etc/apk/repositories: used only for what is pinned to it (pinning.ts). */
  tag?: string;
  packages: ApkPackage[];
}
