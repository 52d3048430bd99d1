/**
 * The reproducibility matrix (issue 14) for Debian bookworm arm64, built on
 * this x86_64 host with build.emulation's default (native twins for what
 * the maintainer scripts start most, QEMU for the rest): the minimal
 * package set as every output a Linux tree can be (test/helpers/repro.ts
 * MATRIX_FORMATS: tars, compressed tars, ext4, erofs, squashfs, GPT disk
 * and its compressed copies, qcow2, vagrant box, partitions, cpios, OCI),
 * built twice: cold, then a minute later from a warm copy of the cache in
 * another cache directory, in other image directories, under umask 022 and
 * 002, TZ and LANG changed. Every output must have the same sha256, the
 * directory the same content listing, manifest and SBOMs the same apart
 * from the build time.
 *
 * Slow (measured under a load of 15-20 on 2 cores: 1062 s cold, 551 s
 * warm, 27 min in all, 434 s of CPU, so some 4-7 min idle; most of it
 * writing the outputs, xz of the tar and the disk the longest), so it runs
 * only with KILN_TEST_SLOW=1.
 */
import { before, describe } from 'node:test';
import { integrationSkipReason } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { buildTwice, matrixTests, matrixToml, type ReproPair } from '../helpers/repro.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const skip =
  process.env.KILN_TEST_SLOW === '1'
    ? skipOrFail(integrationSkipReason() ?? (hostMirrorFor('debian') ? undefined : 'the host has no Debian apt source to use as mirror'))
    : 'two arm64 builds with every output take minutes: set KILN_TEST_SLOW=1';

describe('Debian bookworm arm64 (native twins): every output bit-identical across builds, directories, caches, umasks, TZ and LANG', { skip }, () => {
  let pairs: ReproPair[] = [];
  before(async () => {
    const head = '[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "arm64"\n\n[packages]\nbase = "minimal"\n';
    pairs = await buildTwice('repro matrix (Debian bookworm arm64)', [{ label: 'debian arm64', toml: matrixToml(head) }]);
  });
  matrixTests(() => pairs);
});
