/**
 * The built-in distributions. An exhaustive map: an unknown name is an error
 * that lists the valid ones.
 */
import { debian, ubuntu } from './debian.ts';
import { archlinux, archlinux32, archlinuxarm, archriscv, loongarchlinux } from './arch.ts';
import { alpine } from './alpine.ts';
import type { Distribution } from './types.ts';

export const DISTRIBUTIONS = { debian, ubuntu, archlinux, archlinuxarm, archlinux32, loongarchlinux, archriscv, alpine } satisfies Record<string, Distribution>;
export type DistributionName = keyof typeof DISTRIBUTIONS;

export function findDistribution(name: string): Distribution | undefined {
  const wanted = name.toLowerCase();
  return Object.values(DISTRIBUTIONS).find((d) => d.name === wanted || d.aliases.includes(wanted));
}

/** The distribution's own name for an architecture, accepting aliases; undefined if unknown. */
export function canonicalArchitecture(distribution: Distribution, arch: string): string | undefined {
  if (arch in distribution.architectures) return arch;
  const alias = distribution.architectureAliases[arch];
  return alias && alias in distribution.architectures ? alias : undefined;
}

export * from './types.ts';
export * from './machines.ts';
export * from './host.ts';
export * from './boards/index.ts';
