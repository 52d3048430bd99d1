/**
 * Reproducibility of an Arch Linux x86_64 image from the signed fixture
 * repositories (issue 14): the ALPM hooks and scriptlets (one batch, one
 * sandbox) see SOURCE_DATE_EPOCH; two caches (two machines) give the same
 * tar, now that the keyring is made on first boot rather than at build
 * time; the manifest records where the date came from and the mirrors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln, writeAs } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { freshCache, readJson, sha256 } from '../helpers/repro.ts';

const skip = skipOrFail(integrationSkipReason() ?? fakeArchSkipReason(['x86_64']));

const SDE = 1_650_000_000;

/** An ALPM hook of the image's own (from the skeleton, so in before any package), run with the packages' hooks. */
const SDE_HOOK = `[Trigger]
Type = Path
Operation = Install
Target = usr/bin/*

[Action]
Description = Recording SOURCE_DATE_EPOCH
When = PostTransaction
Exec = /bin/sh -c 'echo "sde=$SOURCE_DATE_EPOCH" > /etc/kiln-sde-hook'
`;

describe('Arch Linux x86_64: reproducible across caches', { skip }, () => {
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let keyring: string;
  before(async () => {
    repos = await makeFakeArchRepos(mkdtempSync(join(tmpdir(), 'kiln-repro-arch-')), { architectures: ['x86_64'] });
    mirror = await startMirror(repos.root);
    keyring = readableKeyring(repos, 'repro-arch');
  });
  after(async () => {
    await mirror?.close();
  });

  function image(): string {
    const dir = imageDir(
      `[distribution]\nname = "archlinux"\narchitecture = "x86_64"\nmirror = "${mirror.url}/$repo/os/$arch"\nkeyring = ["${keyring}"]\n\n[packages]\ninstall = ["kiln-hook"]\n\n[overlay]\nskeleton = "skel"\n\n[output]\nformat = ["tar"]\n`,
    );
    writeAs(join(dir, 'skel/etc/pacman.d/hooks/90-kiln-sde.hook'), SDE_HOOK);
    return dir;
  }

  async function buildIn(dir: string, env: Record<string, string>): Promise<{ manifest: Record<string, unknown>; tarSha256: string }> {
    const r = await kiln(['build', '-C', dir], { env: { XDG_CACHE_HOME: freshCache(), ...env } });
    assert.equal(r.code, 0, r.stderr);
    return { manifest: readJson(join(dir, 'out/image.manifest.json')), tarSha256: sha256(join(dir, 'out/image.tar')) };
  }

  test('ALPM hooks see SOURCE_DATE_EPOCH; two caches give the same tar and manifest key; the manifest names the date\'s origin and the mirrors', async () => {
    const [a, b] = [image(), image()];
    const first = await buildIn(a, { SOURCE_DATE_EPOCH: String(SDE) });
    const second = await buildIn(b, { SOURCE_DATE_EPOCH: String(SDE) });
    const hook = spawnSync('tar', ['-xOf', join(a, 'out/image.tar'), '--wildcards', '*etc/kiln-sde-hook'], { encoding: 'utf8' });
    assert.equal(hook.status, 0, hook.stderr);
    assert.equal(hook.stdout, `sde=${SDE}\n`);
    assert.equal(second.tarSha256, first.tarSha256, 'the same tar from two caches (no build-time keyring)');
    assert.equal(second.manifest.key, first.manifest.key);
    assert.equal(first.manifest.sourceDateEpoch, SDE);
    assert.equal(first.manifest.sourceDateEpochFrom, '$SOURCE_DATE_EPOCH');
    assert.deepEqual(first.manifest.mirrors, [`${mirror.url}/core/os/x86_64`, `${mirror.url}/extra/os/x86_64`]);
  });

  test('"newest-package" is the newest %BUILDDATE% of the plan (pacman has it): the same date "release" gives, with its origin', async () => {
    const dir = image();
    const built = await buildIn(dir, { KILN_BUILD_SOURCE_DATE_EPOCH: 'ignored' });
    assert.match(String(built.manifest.sourceDateEpochFrom), /^release: .* \(default\)$/);
    const r = await kiln(['build', '-C', dir, '--dry-run', '--set', 'build.source-date-epoch=newest-package'], { env: { XDG_CACHE_HOME: imageDir() } });
    assert.equal(r.code, 0, r.stderr);
  });
});
