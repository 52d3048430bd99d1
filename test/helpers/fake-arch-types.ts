/** The public shapes of test/helpers/fake-arch.ts (which re-exports them). */
import type { FixtureVariantKind } from './fixture-variants.ts';

export type { FakeArchDebianSet } from './fake-arch-debian-set.ts';

export type FakeArchMachine = 'x86_64' | 'aarch64';
export type FakeArchLayoutName = 'arch' | 'alarm';
/** As test/helpers/fixture-variants.ts says, with the pacman database as the index and the package's .sig as its signature. */
export type FakeArchVariantKind = FixtureVariantKind;

export interface FakeArchPackage {
  repo: string;
  name: string;
  /** [epoch:]pkgver-pkgrel */
  version: string;
  arch: FakeArchMachine | 'any';
  /** NAME-VERSION-ARCH.pkg.tar.zst (an epoch's ':' kept, as Arch does). */
  filename: string;
  sha256: string;
  /** Paths in the package as pacman lists them: no leading '/', directories end in '/'. */
  files: string[];
  depends: string[];
  provides: string[];
  conflicts: string[];
  groups: string[];
  backup: string[];
  hasInstall: boolean;
  /** Bytes installed (.PKGINFO size). */
  installedSize: number;
}

export interface FakeArchLayout {
  name: FakeArchLayoutName;
  /** Directory to serve. */
  root: string;
  /** Below the server's URL: mirror = `${url}/${pattern}`. */
  pattern: string;
  /** In pacman.conf order. */
  repos: string[];
  packages: Partial<Record<FakeArchMachine, FakeArchPackage[]>>;
  /** Directory of one repository (holds REPO.db, the packages and their .sig). */
  dir(arch: FakeArchMachine, repo: string): string;
}

export interface FakeArchVariant {
  kind: FakeArchVariantKind;
  /** Same layout as the original, e.g. dir/repo-tampered. */
  root: string;
  /** The changed package, per architecture (its sha256 is that of the new bytes). */
  changed: Partial<Record<FakeArchMachine, FakeArchPackage>>;
}

export interface FakeArchRepos {
  /** dir/repo: serve it, mirror = `${url}/$repo/os/$arch`. */
  root: string;
  /** dir/repo-alarm (only with aarch64; it has x86_64 too then): mirror = `${url}/$arch/$repo`. */
  alarmRoot?: string;
  layouts: { arch: FakeArchLayout; alarm?: FakeArchLayout };
  /** Armored public key that signs every package: the trust anchor. */
  keyring: string;
  /** The same key in binary form (for gpgv --keyring). */
  keyringBinary: string;
  /** 40 upper-case hex digits. */
  keyFingerprint: string;
  /** Armored public key of the second, untrusted key (signs the unknown-key variant). */
  unknownKeyring: string;
  unknownKeyFingerprint: string;
  /** The Arch layout's packages per architecture (= layouts.arch.packages). */
  packages: Partial<Record<FakeArchMachine, FakeArchPackage[]>>;
  /** Names `base` resolves to, sorted (the same for both layouts). */
  baseSet: Partial<Record<FakeArchMachine, string[]>>;
  /** Builds (once) a copy of a layout where `package` (default busybox) is changed in every architecture. */
  variant(kind: FakeArchVariantKind, opts?: { package?: string; layout?: FakeArchLayoutName }): Promise<FakeArchVariant>;
  /**
   * Builds (once) a copy of a layout where one architecture's `package` is repacked: at `version` (default: its own, then it
   * also ships /etc/kiln-tampered), signed with `key` (default the packager's, genuine) and indexed; returns its root.
   */
  repacked(opts: { layout?: FakeArchLayoutName; machine: FakeArchMachine; package: string; version?: string; key?: 'packager' | 'unknown' }): Promise<string>;
}
