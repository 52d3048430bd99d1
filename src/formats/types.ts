/**
 * One interface per package format. `plan` runs outside the namespace (index
 * download, signature checks, dependency resolution: pure enough to print for
 * --dry-run); `unpack` and `configure` run inside it, as root of the
 * namespace, on the tree.
 */
import type { NormaliseItem } from '../normalise/types.ts';
import type { Emit } from '../util/events.ts';
import type { BlobStore, DownloadLimits } from '../repo/index.ts';
import type { Config } from '../config/index.ts';
import type { Distribution, FormatName } from '../catalog/index.ts';
import type { RootRunOptions } from '../sandbox/index.ts';
import type { FormatTwins } from './twins.ts';

/** `PackageData`: the format's own facts about one package (JSON-serialisable), for its verify and install. */
export interface PlannedPackage<PackageData = unknown> {
  name: string;
  version: string;
  architecture: string;
  /** Download size in bytes. */
  size: number;
  installedSize?: number;
  sha256: string;
  /** Where to get it, in order of preference. */
  urls: string[];
  /** Why it is in the plan ('requested', 'base set', 'X depends on it'). */
  reason: string;
  /** The format's own facts about the package, for verify() and install(). */
  extra: PackageData;
}

/**
 * A format's plan: `Format` names the format that made it (the pipeline tells
 * plans apart by it), `PlanData` is what its verify() and install() need
 * besides the packages (e.g. apt sources to write), JSON-serialisable as it
 * crosses into the namespace.
 */
export interface InstallPlan<Format extends FormatName = FormatName, PlanData = unknown, PackageData = unknown> {
  format: Format;
  packages: PlannedPackage<PackageData>[];
  /** Newest timestamp of the repository metadata, seconds (default SOURCE_DATE_EPOCH). */
  repositoryDate: number;
  /** The newest build date of the planned packages, seconds, where the index carries build dates (build.source-date-epoch = "newest-package"). */
  newestPackageDate?: number;
  /** The mirrors the packages come from, resolved (a Debian default is the host's apt sources'), for the manifest. */
  mirrors?: string[];
  /** The format's own data for verify() and install(). */
  extra: PlanData;
  warnings: string[];
}

export interface PlanContext {
  config: Config;
  distribution: Distribution;
  store: BlobStore;
  /** Where derived results (resolved plans) are kept between builds. */
  memoDir: string;
  /** Part of every memo key, so that a new kiln never trusts an old kiln's results. */
  kilnVersion: string;
  emit: Emit;
  signal?: AbortSignal;
  /** How slow and how long one download may be (build.download-*). */
  limits?: DownloadLimits;
  /** Where the names asked for came from, for messages that name one. */
  origins: RequestOrigins;
  /** kiln.lock's set for this image and architecture: the plan installs exactly it instead of resolving (the format's `lock` must be set). */
  lock?: LockedSet;
}

/** One package as kiln.lock pins it. */
export interface LockedPackage {
  name: string;
  version: string;
  architecture: string;
  /** Relative to the mirror (or repository) it came from when it is the mirror's, else absolute. */
  url: string;
  size: number;
  sha256: string;
  /** apk: the index's checksum of the package (C:); unset for deb and pacman. */
  indexChecksum?: string;
  /** The format's own facts a plan needs that the index gave (deb: multi-arch, source; pacman: repo, signature), flat. */
  facts: Record<string, string | number | boolean>;
}

/** What a format's plan gets from kiln.lock for its architecture. */
export interface LockedSet {
  packages: LockedPackage[];
  /** The plan's repositoryDate and newestPackageDate when the lock was made. */
  repositoryDate: number;
  newestPackageDate?: number;
  /** lock.snapshot-mirror with the lock's date filled in (the format fills its own $repo, $arch), or undefined. */
  snapshotMirror?: string;
  /** The fingerprints of the keys the lock was made with, as the format's keyFingerprints wrote them. */
  keyringFingerprints?: string[];
}

/**
 * What a format that can be locked adds: how its plan's packages are
 * written into kiln.lock (its plan, given a LockedSet, is what reads them
 * back), the fingerprints of the keys its indexes are verified with, and
 * (where the format has them) the checksums of the indexes the set was
 * resolved from.
 */
export interface FormatLocking<Plan extends InstallPlan> {
  lockedPackages: (plan: Plan) => LockedPackage[];
  keyFingerprints: (config: Config, plan: Plan) => Promise<string[]>;
  /** `REPOSITORY sha256:HEX` of each index read. */
  indexChecksums?: (plan: Plan) => string[];
}

/** packages.install's items by name (`kiln.toml:7`, `board raspberrypi-4`, `--set`), and where packages.base was set. */
export interface RequestOrigins {
  install: Readonly<Record<string, string>>;
  base: string;
}

/** After the download, outside the namespace: checks that need the package files (signatures). */
export interface VerifyContext<Plan extends InstallPlan = InstallPlan> extends PlanContext {
  plan: Plan;
  /** Blob path of each package, by name. */
  blobs: Record<string, string>;
  readPackage: ReadPackage;
}

/** The whole package file, its sha256 checked against the plan's (a damaged cached copy is downloaded again). */
export type ReadPackage = (p: PlannedPackage) => Promise<Buffer>;

export interface InstallContext<Plan extends InstallPlan = InstallPlan> {
  root: string;
  plan: Plan;
  /** Blob path of each package, by name, as downloaded. */
  blobs: Record<string, string>;
  /** Reads a package for unpacking: never read `blobs` directly, a cached file is trusted only after this check. */
  readPackage: ReadPackage;
  config: Config;
  emit: Emit;
  /** kiln's cache directory (derived results are kept under it). */
  cacheDir: string;
  /** Timestamp for what the install records (install dates), seconds. */
  sourceDateEpoch: number;
  /** Runs a command inside the root (emulated when foreign). */
  run(argv: string[], opts?: RunInTreeOptions): Promise<void>;
}

export interface RunInTreeOptions extends Partial<Pick<RootRunOptions, 'env' | 'cwd'>> {
  /** Prefix of the command's output lines in the log. */
  source?: string;
  input?: string;
  /** The command runs package scripts: native interpreters may stand in for emulated ones. */
  packageScripts?: boolean;
  /** Host files bound read-only under the command's own /run (relative paths there), besides emulation's. */
  runBinds?: { source: string; target: string }[];
}

/** A package as the tree's own package database records it (for manifests and SBOMs). */
export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package (deb) or package base (pacman). */
  source: string;
  /** Bytes on disk, as the package declares. */
  installedSize?: number;
  /** License names as the distribution writes them. */
  licenses: string[];
  homepage?: string;
}

/**
 * `Plan`: the format's own InstallPlan (its name, plan data and package data);
 * `Unpacked`: what its unpack stage hands to its configure stage (they always
 * run in one go). Members are function properties, not methods, so that the
 * compiler checks their parameters strictly: one format's plan never passes
 * for another's.
 */
export interface PackageFormat<Plan extends InstallPlan, Unpacked> {
  plan: (ctx: PlanContext) => Promise<Plan>;
  /** Checks the downloaded packages before anything is unpacked (when the index did not vouch for them). */
  verify?: (ctx: VerifyContext<Plan>) => Promise<void>;
  /** The unpack stage: files and the package database, natively. */
  unpack: (ctx: InstallContext<Plan>) => Promise<Unpacked>;
  /** The configure stage: package scripts inside the root (emulated when foreign). */
  configure: (ctx: InstallContext<Plan>, unpacked: Unpacked) => Promise<void>;
  /** The packages installed in a finished tree, from its package database; `warn` hears of what was left out (a license that cannot be read). */
  inventory: (root: string, warn: (message: string) => void) => Promise<InstalledPackage[]>;
  /** Where the package database lives, and who owns which path (kiln diff). */
  database: PackageDatabase;
  /** kiln lock: absent for a format that cannot be locked yet. */
  lock?: FormatLocking<Plan>;
  /** What finalize normalises in this format's trees, before the common items (src/formats/FORMAT/normalise.ts). */
  normalise: readonly NormaliseItem[];
  /** Native twins for a foreign tree's scripts (src/formats/FORMAT/twins.ts): absent for a format without them yet (everything emulated). */
  twins?: FormatTwins;
}

/** A format's package database as kiln diff and the SBOMs read it from a finished tree. */
export interface PackageDatabase {
  /** The file or directory whose presence says a tree uses this format. */
  marker: string;
  /** The paths (relative to the root) inventory and ownedFiles read: what a streamed input copies aside for them. */
  paths: RegExp;
  /** Each owned path (relative, no leading `/`) with the names of the packages that list it. */
  ownedFiles: (root: string) => Map<string, string[]>;
  /** The directory (relative) that is the database itself: the SBOM lists what is under it as the package database, not as files no package owns. */
  directory: string;
  /** Each installed package's name with the names of the installed packages its dependencies resolve to, sorted (the SBOM's dependency graph). */
  dependencies: (root: string) => Map<string, string[]>;
}
