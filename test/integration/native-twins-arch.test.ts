/**
 * Native twins for pacman (issue 11): an Arch Linux ARM aarch64 build from
 * the fixture repositories (test/helpers/fake-arch.ts), whose kiln-hook
 * scriptlet and ALPM hook start busybox's sed, sha256sum and wc, runs them
 * from busybox's x86_64 twin (the same repositories for the host's
 * architecture, signature-checked), and gives the same tar as the
 * full-emulation build; a twin at another version than the tree's package
 * is never used.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { TWIN_EPOCH, tarMember, twinBuild, type TwinBuilt } from '../helpers/twin-build.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import { kernelSupportsNamespacedBinfmt } from '../../src/pipeline/emulation.ts';

const skip = skipOrFail(
  integrationSkipReason() ??
    fakeArchSkipReason(['x86_64', 'aarch64']) ??
    (kernelSupportsNamespacedBinfmt() ? undefined : 'native twins need binfmt_misc per namespace (Linux >= 6.7)'),
);

const EPOCH = TWIN_EPOCH;




describe('native twins: Arch Linux ARM aarch64 from the fixture repositories', { skip }, () => {
  let repos: FakeArchRepos;
  let keyring: string;
  let cache: string;
  let dir: string;
  let twins: TwinBuilt;
  let full: TwinBuilt;

  const toml = (mirror: string) =>
    `[distribution]\nname = "archlinuxarm"\narchitecture = "aarch64"\nmirror = "${mirror}/$arch/$repo"\nkeyring = ["${keyring}"]\n\n[packages]\ninstall = ["kiln-hook", "kiln-marks"]\n\n[build]\nemulation = "native-twins"\ncache-directory = "${cache}"\n\n[output]\nformat = ["tar"]\n`;


  before(async () => {
    repos = await makeFakeArchRepos(mkdtempSync(join(tmpdir(), 'kiln-twins-arch-')), { architectures: ['x86_64', 'aarch64'] });
    keyring = readableKeyring(repos, 'twins-arch');
    cache = imageDir();
    const mirror: Mirror = await startMirror(repos.alarmRoot as string);
    try {
      dir = imageDir(toml(mirror.url));
      twins = await twinBuild(dir);
      full = await twinBuild(dir, ['--set', 'build.emulation=full']);
    } finally {
      await mirror.close();
    }
  });

  test('the native-twin build and the full-emulation build give the same tar, byte for byte', () => {
    assert.equal(twins.code, 0, twins.stderr);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(twins.sha, full.sha);
    // What the scriptlet and the hook computed with busybox is there.
    assert.equal(tarMember(dir, 'var/lib/kiln-test/kiln-hook-description'), `${createHash('sha256').update('Recording the kiln-marks files for the kiln tests...\n').digest('hex')}  -\n`);
    assert.equal(tarMember(dir, 'var/lib/kiln-test/hook-ran-count').trim(), String(tarMember(dir, 'var/lib/kiln-test/hook-ran').split('\n').length - 1));
  });

  test('the build log says how many executions ran natively (busybox, from its x86_64 twin) and how many emulated (bash, as /bin/sh); the full build has no twins', () => {
    const m = /\[transaction\] native twins: (\d+) executions ran natively, (\d+) emulated/.exec(twins.stderr);
    assert.ok(m, twins.stderr);
    // busybox sed | busybox sha256sum in the scriptlet, busybox wc in the hook; bash for each scriptlet and the hook.
    assert.ok(Number(m[1]) >= 3 && Number(m[2]) > 0, m[0]);
    const detail = /\[transaction\] natively: (.*); emulated: (.*)$/m.exec(twins.stderr);
    assert.match(detail?.[1] ?? '', /^\/usr\/bin\/busybox \d+$/);
    // bash, as the scriptlets and the hook start it.
    assert.match(detail?.[2] ?? '', /^\/bin\/sh \d+$/);
    assert.doesNotMatch(full.stderr, /native twins:/);
  });

  test('the script ledger: kiln-hook’s scriptlet had native helpers, bash’s ran fully emulated, glibc has none', () => {
    assert.equal(twins.ledger['kiln-hook'], 'native helpers', JSON.stringify(twins.ledger));
    assert.equal(full.ledger['kiln-hook'], 'fully emulated', JSON.stringify(full.ledger));
    assert.equal(twins.ledger['bash'], 'fully emulated');
    assert.equal(twins.ledger['glibc'], 'no scripts');
    assert.deepEqual(Object.keys(twins.ledger), Object.keys(full.ledger));
  });

  test('busybox at another version in the x86_64 repository is never used: it runs under QEMU, with the same results', async () => {
    const tree = repos.layouts.alarm?.packages.aarch64?.find((p) => p.name === 'busybox')?.version as string;
    const other = tree.replace(/-(\d+)$/, (_, rel: string) => `-${Number(rel) + 1}`);
    const root = await repos.repacked({ layout: 'alarm', machine: 'x86_64', package: 'busybox', version: other });
    const mirror = await startMirror(root);
    try {
      const at = imageDir(toml(mirror.url));
      const r = await twinBuild(at);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(`busybox stays emulated: x86_64 has ${other}, the tree ${tree}`), r.stderr);
      assert.match(r.stderr, /no native twins to use: every program runs under QEMU/);
      assert.doesNotMatch(r.stderr, /native twins: \d+ executions ran natively/);
      assert.equal(r.ledger['kiln-hook'], 'fully emulated');
      // busybox ran (under QEMU) and computed the same (the tar itself names this mirror in its mirrorlist).
      for (const path of ['var/lib/kiln-test/kiln-hook-description', 'var/lib/kiln-test/hook-ran-count']) assert.equal(tarMember(at, path), tarMember(dir, path), path);
    } finally {
      await mirror.close();
    }
  });

  test('a mirror with no x86_64 (as Arch Linux ARM\'s): the build says so and emulates everything; build.twin-mirror gives the twins from another mirror, checked against build.twin-keyring', async () => {
    // Two mirrors from the one fixture: the target's architecture alone, and the host's alone.
    const split = mkdtempSync(join(tmpdir(), 'kiln-twins-split-'));
    for (const arch of ['aarch64', 'x86_64']) {
      mkdirSync(join(split, arch));
      symlinkSync(join(repos.alarmRoot as string, arch), join(split, arch, arch));
    }
    const target = await startMirror(join(split, 'aarch64'));
    const host = await startMirror(join(split, 'x86_64'));
    try {
      const alone = await twinBuild(imageDir(toml(target.url)));
      assert.equal(alone.code, 0, alone.stderr);
      assert.match(alone.stderr, /no x86_64 twins from \w+: .* not found/);
      assert.equal(alone.ledger['kiln-hook'], 'fully emulated');

      const withMirror = (keyrings: string[]) =>
        toml(target.url).replace('[build]\n', `[build]\ntwin-mirror = "${host.url}/$arch/$repo"\ntwin-keyring = ${JSON.stringify(keyrings)}\n`);
      const at = imageDir(withMirror([keyring]));
      const r = await twinBuild(at);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /\[transaction\] native twins: [1-9]\d* executions ran natively/);
      assert.equal(r.ledger['kiln-hook'], 'native helpers');
      for (const path of ['var/lib/kiln-test/kiln-hook-description', 'var/lib/kiln-test/hook-ran-count']) assert.equal(tarMember(at, path), tarMember(dir, path), path);

      // The twins' keyring is build.twin-keyring, not the target's: with only another key there, the host's repositories are refused.
      const other = join(split, 'other.asc');
      copyFileSync(repos.unknownKeyring, other);
      chmodSync(split, 0o755);
      chmodSync(other, 0o644);
      const refused = await kiln(['build', '-C', imageDir(withMirror([other])), '--rebuild'], { env: { SOURCE_DATE_EPOCH: EPOCH } });
      assert.equal(refused.code, 2, refused.stderr);
      // The twin unpacked by the builds before is checked again under this build's keyring.
      assert.match(refused.stderr, /signature check failed for twin busybox .* x86_64/);
    } finally {
      await target.close();
      await host.close();
    }
  });

  test('a twin is verified like every package: an x86_64 busybox signed by a key not in the keyring fails the build, naming it', async () => {
    const root = await repos.repacked({ layout: 'alarm', machine: 'x86_64', package: 'busybox', key: 'unknown' });
    const mirror = await startMirror(root);
    try {
      const r = await kiln(['build', '-C', imageDir(toml(mirror.url)), '--rebuild'], { env: { SOURCE_DATE_EPOCH: EPOCH } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /signature check failed for twin busybox .* x86_64/);
    } finally {
      await mirror.close();
    }
  });
});
