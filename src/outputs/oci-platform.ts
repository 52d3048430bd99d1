/**
 * The OCI platform of a target: the architecture and variant in the Go
 * spelling OCI images use (GOARCH, and GOARM's v5/v6/v7, v8 for arm64),
 * from the machine and, for 32-bit arm, the distribution's architecture
 * name, which says which ARM it builds for.
 */
import type { Machine } from '../catalog/machines.ts';

export interface OciPlatform {
  architecture: string;
  os: 'linux';
  variant?: string;
}

/** GOARCH by machine, and the variant a machine always has. */
const GOARCH: Record<Machine, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  i386: { architecture: '386' },
  aarch64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm' },
  riscv64: { architecture: 'riscv64' },
  loongarch64: { architecture: 'loong64' },
  ppc64le: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  mips64el: { architecture: 'mips64le' },
};

/**
 * The ARM version a 32-bit arm distribution architecture targets: Debian's
 * armhf and Arch Linux ARM's armv7h are ARMv7 with hardware floating point,
 * Debian's armel is ARMv5TE (the arm32v5 images), Arch Linux ARM's
 * retired armv6h ARMv6.
 */
const ARM_VARIANT: Readonly<Record<string, string>> = {
  armhf: 'v7',
  armv7h: 'v7',
  armv7: 'v7',
  armel: 'v5',
  armv6h: 'v6',
  armv5: 'v5',
};

export function ociPlatform(machine: Machine, architecture: string): OciPlatform {
  const go = GOARCH[machine];
  const variant = machine === 'arm' ? ARM_VARIANT[architecture] : go.variant;
  return { architecture: go.architecture, os: 'linux', ...(variant ? { variant } : {}) };
}
