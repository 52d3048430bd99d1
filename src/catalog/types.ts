import type { Machine } from './machines.ts';

/** The package formats kiln speaks; each is one module under src/formats. */
export type FormatName = 'deb' | 'pacman' | 'apk';

/** The base sets a user picks from (packages.base); `none` is packages.install alone; `tiny` is Alpine's smallest working set. */
export type BaseSetName = 'essential' | 'minimal' | 'standard' | 'tiny' | 'none';

/** An ARM architecture version as the OCI platform's variant spells it. */
export type ArmVersion = 'v5' | 'v6' | 'v7';

/** A distribution is data: where its packages live and what a base system is. */
export interface Distribution {
  name: string;
  aliases: string[];
  pretty: string;
  format: FormatName;
  /** The distribution's own architecture names, and the machine each runs on. */
  architectures: Record<string, Machine>;
  /**
   * The ARM version each 32-bit arm architecture builds for, which the name
   * alone does not say (Debian's armhf is ARMv7, Alpine's is ARMv6): the
   * variant of the OCI platform (GOARM). Every architecture on the `arm`
   * machine has one.
   */
  armVersions?: Readonly<Record<string, ArmVersion>>;
  /** Other spellings users type for an architecture (x86_64 -> amd64). */
  architectureAliases: Record<string, string>;
  releases: string[];
  defaultRelease: string;
  /** Why a release name is not one of the distribution's, where releases are checked by their shape (Alpine's vX.Y); undefined when it is fine. */
  releaseProblem?(release: string): string | undefined;
  /** Default mirror for an architecture, or undefined when the user must give one. */
  defaultMirror(architecture: string): string | undefined;
  /** Default archive components (Debian) or repositories (pacman), in search order. */
  repositories: string[];
  /** Host keyring files that sign the archive (deb: all of them; pacman: the first that exists). */
  keyrings: string[];
  /** Packages in the image that carry the distribution's keys (pacman-key --populate). */
  keyringPackages?: string[];
  /** Package names for each base set, where the format does not derive them from the index (deb does); only these sets may be chosen. */
  baseSets?: Partial<Record<BaseSetName, string[]>>;
  /** Packages that must be installed whatever the base set, but `none`. */
  alwaysInstall: string[];
  /** Top-level directories laid out as symlinks into /usr before installing (merged /usr); [] for none. */
  mergedUsrLinks(release: string, architecture: string): string[];
}
