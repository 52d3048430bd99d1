/**
 * A host tool, found on the host's PATH or else taken from a Debian archive
 * into kiln's tools cache: the host's own apt sources when the host is
 * Debian or Ubuntu, else the target's Debian archive when the build has one.
 */
import { join } from 'node:path';
import { DISTRIBUTIONS, findDistribution, hostMachine, hostMirrorFor, readOsRelease } from '../catalog/index.ts';
import { BlobStore, type DownloadLimits } from '../repo/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emit } from '../util/events.ts';
import { findOnPath } from '../util/path.ts';
import { fetchDebianTool } from './debian-archive.ts';
import type { HostTool } from './host-tools.ts';

export interface DebianArchive {
  mirror: string;
  release: string;
  /** Keyrings for its InRelease; undefined: signature checks off (warned). */
  keyring?: string[];
}

export interface ToolSource {
  /** `auto`: the host's command when it is on PATH; `download`: always kiln's own copy. */
  mode: 'auto' | 'download';
  cacheDir: string;
  emit: Emit;
  /** An archive to take the tool from when the host has no apt sources (the target's, for a Debian build). */
  fallbackArchive?: DebianArchive;
  signal?: AbortSignal;
  limits?: DownloadLimits;
  /** Why the tool is needed, for the error when it cannot be had (e.g. "building for aarch64 on x86_64"). */
  purpose: string;
}

/** The path of the tool's command. */
export async function findHostTool(tool: HostTool, source: ToolSource): Promise<string> {
  const installed = source.mode === 'auto' ? findOnPath(tool.command) : undefined;
  if (installed) return installed;
  const archive = hostDebianArchive() ?? source.fallbackArchive;
  const hostArch = Object.entries(DISTRIBUTIONS.debian.architectures).find(([, m]) => m === hostMachine())?.[0];
  if (!archive || !hostArch) {
    throw new UserError(`${source.purpose} needs ${tool.command}, which is not installed, and there is no Debian archive to take it from`, tool.hint);
  }
  source.emit({ kind: 'log', level: 'info', message: `${tool.command} is not installed: taking it from ${tool.debianPackage} in ${archive.mirror} ${archive.release}` });
  const [path] = await fetchDebianTool(
    { store: new BlobStore(join(source.cacheDir, 'downloads')), emit: source.emit, signal: source.signal, limits: source.limits, keyring: archive.keyring, warnings: [] },
    { mirror: archive.mirror, release: archive.release, architecture: hostArch, package: tool.debianPackage, paths: tool.paths, toolsDir: join(source.cacheDir, 'tools') },
  );
  return path as string;
}

/** The host's own Debian or Ubuntu archive, from its apt sources, when it has one. */
function hostDebianArchive(): DebianArchive | undefined {
  const host = readOsRelease();
  const distribution = host.id ? findDistribution(host.id) : undefined;
  const mirror = distribution ? hostMirrorFor(distribution.name) : undefined;
  return distribution && mirror && host.codename ? { mirror, release: host.codename, keyring: distribution.keyrings } : undefined;
}
