/**
 * Deciding how foreign binaries run: not at all (native), through QEMU
 * registered in the build's own binfmt_misc (Linux >= 6.7), or through the
 * host's registration. Says exactly what is missing when none works.
 */
import { release } from 'node:os';
import { elfMagic, hostMachine, qemuName, runsNatively, type Distribution, type FormatName, type Machine } from '../catalog/index.ts';
import type { Config } from '../config/index.ts';
import { FORMAT_FACTS } from '../formats/facts.ts';
import type { DownloadLimits } from '../repo/index.ts';
import { findHostTool, HOST_TOOLS } from '../tools/index.ts';
import type { Emit } from '../util/events.ts';
import { escapesToHex, hostBinfmtFor } from '../sandbox/index.ts';
import { UserError } from '../util/errors.ts';
import type { Emulation } from './job.ts';
import { FORMATS, type AnyPlan } from '../formats/index.ts';
import type { BlobStore } from '../repo/index.ts';
import { prepareTwins } from './twin-store.ts';

export function kernelSupportsNamespacedBinfmt(version = release()): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  return major > 6 || (major === 6 && minor >= 7);
}

export interface EmulatorSource {
  /** `auto`: the host's qemu-user-static if installed, else fetched; `download`: always kiln's own copy. */
  emulator: 'auto' | 'download';
  cacheDir: string;
  emit: Emit;
  /** The target's Debian archive, a source of qemu-user-static when the host has no apt sources. */
  debianArchive?: { mirror: string; release: string; keyring?: string[] };
  /** Ctrl-C, and the download limits (build.download-*), for fetching qemu-user-static. */
  signal?: AbortSignal;
  limits?: DownloadLimits;
}

export async function planEmulation(machine: Machine, mode: 'auto' | 'namespace' | 'host', source: EmulatorSource): Promise<Emulation | undefined> {
  if (runsNatively(machine)) return undefined;
  const { magic, mask } = elfMagic(machine);
  const useNamespace = mode === 'namespace' || (mode === 'auto' && kernelSupportsNamespacedBinfmt());
  if (useNamespace) {
    const interpreter = await findEmulator(machine, source);
    return { entry: { name: `kiln-${machine}`, magic, mask, interpreter }, mode: 'namespace', bindInterpreter: false };
  }
  const host = hostBinfmtFor(escapesToHex(magic));
  if (!host) {
    const why = mode === 'host' ? 'build.binfmt = "host"' : `this kernel (${release()}) has no binfmt_misc per namespace (needs Linux >= 6.7)`;
    throw new UserError(
      `cannot run ${machine} programs: ${why} and the host has no binfmt_misc registration for ${machine}`,
      `install qemu-user-static (and binfmt-support or systemd-binfmt) so that the host registers it${mode === 'host' ? ', or set build.binfmt = "auto"' : ', or use Linux >= 6.7'}`,
    );
  }
  return {
    entry: { name: host.name, magic, mask, interpreter: host.interpreter },
    mode: 'host',
    bindInterpreter: !host.fixBinary,
  };
}

/**
 * The static QEMU user emulator for a machine: the host's, or else one kiln
 * takes from a Debian archive (the host's apt sources, or the target's own
 * Debian archive) into its tools cache. QEMU's user emulators are static, so
 * they run on any distribution.
 */
async function findEmulator(machine: Machine, source: EmulatorSource): Promise<string> {
  return findHostTool(HOST_TOOLS['qemu-user'](qemuName(machine)), {
    mode: source.emulator,
    cacheDir: source.cacheDir,
    emit: source.emit,
    fallbackArchive: source.debianArchive,
    signal: source.signal,
    limits: source.limits,
    purpose: `building for ${machine} on ${hostMachine()}`,
  });
}

/** The emulator source for a loaded configuration. */
export function emulatorSource(loaded: { config: Config; distribution: { format: FormatName } }, cacheDir: string, emit: Emit): EmulatorSource {
  const c = loaded.config;
  return {
    emulator: c['build.emulator'],
    cacheDir,
    emit,
    debianArchive:
      FORMAT_FACTS[loaded.distribution.format].emulatorFromArchive
        ? { mirror: c['distribution.mirror'], release: c['distribution.release'], keyring: c['distribution.verify-signatures'] ? c['distribution.keyring'] : undefined }
        : undefined,
  };
}

/**
 * The emulation with native twins for package scripts, when
 * build.emulation = "native-twins" and the tree's format has twins
 * (FORMATS[format].twins). Only with QEMU in the build's own binfmt_misc:
 * with the host's registration the dispatcher cannot take QEMU's place
 * (said once).
 */
export async function addNativeTwins(
  emulation: Emulation | undefined,
  loaded: { config: Config; distribution: Distribution },
  plan: AnyPlan,
  source: { cacheDir: string; store: BlobStore; emit: Emit; signal?: AbortSignal; limits?: DownloadLimits },
): Promise<Emulation | undefined> {
  const c = loaded.config;
  const format = loaded.distribution.format;
  const formatTwins = FORMATS[format].twins;
  if (!emulation || c['build.emulation'] !== 'native-twins' || !formatTwins) return emulation;
  if (emulation.mode !== 'namespace') {
    source.emit({ kind: 'log', level: 'info', message: 'native twins are not used: QEMU comes from the host\'s binfmt_misc registration (build.binfmt), so every foreign program runs under QEMU' });
    return emulation;
  }
  const twins = await prepareTwins(plan.packages, formatTwins, {
    ...source,
    config: c,
    distribution: loaded.distribution,
    format,
    debianArchive: emulatorSource(loaded, source.cacheDir, source.emit).debianArchive,
  });
  return twins ? { ...emulation, twins } : emulation;
}
