/**
 * What a package format supplies for native twins (src/pipeline/native-twins.ts
 * and its neighbours, one mechanism for every format): which of its packages
 * are twinned and how, where host-architecture packages of exactly the tree's
 * versions come from (deb: the archive's Packages index for the host's
 * architecture; pacman: the repositories' databases for it), how one is
 * fetched, verified and unpacked, and what the tree's own package database
 * says (installed versions, the files as shipped, which packages have
 * scripts). The pipeline reads these through FORMATS[format].twins and never
 * asks which format it has.
 */
import type { BlobStore, DownloadLimits } from '../repo/index.ts';
import type { Config } from '../config/index.ts';
import { hostMachine, type Distribution } from '../catalog/index.ts';
import type { Emit } from '../util/events.ts';
import type { Tree } from '../tree/index.ts';

/** Which programs of a twinned package may run natively. */
export interface TwinRule {
  /** Only these program names (default: every ELF program in bin/, sbin/, usr/bin/, usr/sbin/). */
  only?: string[];
  /** Never these. */
  except?: string[];
  /** Other names a program is started by (through symlinks or alternatives): program -> names. */
  aliases?: Record<string, string[]>;
  /**
   * Programs that run natively only with one of these first arguments
   * (a subcommand that is a pure function of its arguments, whatever the
   * architecture), otherwise under QEMU: program -> first arguments.
   */
  firstArgs?: Record<string, string[]>;
}

/** One host-architecture package of the format's host index, as twin selection sees it. */
export interface TwinCandidate {
  name: string;
  version: string;
  architecture: string;
  /** The package file's sha256, by which the twin store knows it (apk, whose index has none: its C:, the control stream's SHA1, in hex). */
  sha256: string;
  size: number;
  /** Where to get it, in order of preference. */
  urls: string[];
  /** Its dependencies, each a group of alternative names. */
  depends: string[][];
  /** A shared-library package: it joins the library closure of a twin that depends on it. */
  library: boolean;
  /** The format's own facts for fetching it (pacman: its repository's signature rules), JSON-serialisable. */
  extra?: Record<string, string | boolean | string[] | undefined>;
}

/** What a format's twin code gets: the configuration and the download machinery of the build. */
export interface TwinContext {
  config: Config;
  distribution: Distribution;
  store: BlobStore;
  cacheDir: string;
  emit: Emit;
  signal?: AbortSignal;
  limits?: DownloadLimits;
}

/** A format's host index for twins. */
export interface TwinIndex {
  /** The host's architecture in the format's names (amd64, x86_64). */
  architecture: string;
  candidates: TwinCandidate[];
}

export interface FormatTwins {
  /** The twinned packages, by the format's package names, and which of their programs run natively. */
  rules: Readonly<Record<string, TwinRule>>;
  /** Names no twin ever runs as, whatever package ships them (but with a rule's `firstArgs`, which are only those arguments). */
  neverNative: ReadonlySet<string>;
  /** The package whose dynamic loader runs every twin (libc6, glibc). */
  loaderPackage: string;
  /** For a dependency the host index does not have: is it a library (then the twin that needs it stays emulated)? */
  libraryByName: (name: string) => boolean;
  /** The host-architecture index, or undefined (said by the format) when the host has no architecture of this format. */
  hostIndex: (ctx: TwinContext) => Promise<TwinIndex | undefined>;
  /** The whole package file of a twin, checked as the format checks every package (sha256, and signature where it has them). */
  read: (ctx: TwinContext, twin: TwinCandidate) => Promise<Buffer>;
  /**
   * A twin already unpacked in the store (its package's sha256 is the host
   * index's): the checks that depend on this build's trust, where the index
   * does not carry it (pacman: the package's signature against
   * build.twin-keyring). Without it, the index's sha256 is the whole check.
   */
  recheck?: (ctx: TwinContext, twin: TwinCandidate) => Promise<void>;
  /** Unpacks a twin's files (not its metadata) into `dir`. */
  extract: (data: Buffer, twin: TwinCandidate, dir: string) => Promise<void>;
  /** The tree's package database, in the worker. */
  tree: TwinTreeFacts;
}

export interface TwinTreeFacts {
  /** Package -> version of every package the tree has installed. */
  installed: (tree: Tree) => Map<string, string>;
  /** A package's files as shipped: path (relative, no leading `/`) -> whether the tree's file at that path is still the one shipped. */
  shipped: (tree: Tree, name: string, version: string) => (path: string) => boolean;
  /** Whether the package has install scripts (the script ledger's `no scripts`). */
  hasScripts: (tree: Tree, name: string, version: string) => boolean;
  /** The environment variable naming the package whose script is running, for the dispatcher's log. */
  scriptPackageVariable: string;
}

/** The twins' mirror: build.twin-mirror, else the target's, or the distribution's default for the host's architecture where its default differs by architecture (Ubuntu's ports). */
export function twinMirror(config: Config, distribution: Distribution): string {
  const set = config['build.twin-mirror'];
  if (set !== undefined) return set;
  const mirror = config['distribution.mirror'];
  const host = Object.entries(distribution.architectures).find(([, machine]) => machine === hostMachine())?.[0];
  return host && mirror === distribution.defaultMirror(config['distribution.architecture']) ? (distribution.defaultMirror(host) ?? mirror) : mirror;
}

/** The keyrings the twins are checked against: build.twin-keyring, else distribution.keyring. */
export const twinKeyring = (config: Config): string[] => config['build.twin-keyring'] ?? config['distribution.keyring'];
