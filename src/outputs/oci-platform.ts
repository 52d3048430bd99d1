/**
 * The OCI platform of a target: the architecture and variant in the Go
 * spelling OCI images use (GOARCH, and GOARM's v5/v6/v7, v8 for arm64),
 * from the machine and, for 32-bit arm, the ARM version the distribution's
 * catalog entry gives its architecture (the same name means different ARMs:
 * Debian's armhf is v7, Alpine's v6).
 */
import type { ArmVersion, Machine } from '../catalog/index.ts';

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

/** `armVersion` is the catalog's word for a 32-bit arm architecture (Distribution.armVersions); other machines have none. */
export function ociPlatform(machine: Machine, armVersion: ArmVersion | undefined): OciPlatform {
  const go = GOARCH[machine];
  const variant = machine === 'arm' ? armVersion : go.variant;
  return { architecture: go.architecture, os: 'linux', ...(variant ? { variant } : {}) };
}
