/**
 * The embedded workflow on a real Debian image, as the unprivileged user:
 * prune presets say what they removed, the build log gives tree sizes,
 * `kiln shell --stage configure --save` keeps a fix-up that the next build
 * replays, and the checkpoint it started from stays as it was.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const TOML = (mirrorUrl: string) => `[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"
mirror = "${mirrorUrl}"

[prune]
presets = ["docs", "man", "locales"]

[output]
format = ["directory"]
`;

describe('embedded workflow', { skip }, () => {
  let dir: string;
  let first: string;
  const inImage = async (script: string, extra: string[] = []) => {
    const r = await kiln(['shell', '-C', dir, ...extra, '--', '/bin/sh', '-c', script]);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  before(async () => {
    dir = imageDir(TOML(mirror as string));
    // Every stage runs (and reports its size), even when an earlier test left this package set's checkpoints in the cache.
    const r = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(r.code, 0, r.stderr);
    first = r.stderr;
  });

  test('prune presets remove what they say and report paths and bytes; stages with a checkpoint give the tree size', async () => {
    assert.match(first, /^\[prune\] docs: \d+ paths, [\d.]+ (KiB|MiB)$/m);
    assert.match(first, /^\[prune\] man: \d+ paths, [\d.]+ (KiB|MiB)$/m);
    assert.match(first, /^\[prune\] locales: \d+ paths, [\d.]+ (B|KiB|MiB)$/m);
    assert.match(first, /^configure +[\d.]+ s {2}[\d.]+ MiB, \d+ paths$/m);
    assert.match(first, /^prune +[\d.]+ s {2}[\d.]+ MiB, \d+ paths$/m);
    const out = (await inImage('ls /usr/share/doc/bash; ls /usr/share/man | wc -l; cat /etc/dpkg/dpkg.cfg.d/kiln-prune')).stdout;
    assert.match(out, /^copyright\n0\n/, 'only the copyright file is left of the docs, nothing of the man pages');
    assert.match(out, /^path-exclude=\/usr\/share\/man\/\*$/m);
  });

  test('kiln shell --stage configure --save: the next build has the fix, the checkpoint is unchanged', async () => {
    // A fix of this run's own: saved layers are reproducible, so the same fix saved by an earlier run (its checkpoints still in the test user's cache) would be found built already.
    const token = randomUUID();
    const saved = await inImage(`echo ${token} > /etc/fixed; rm /etc/motd`, ['--stage', 'configure', '--save']);
    assert.match(saved.stderr, /saved the shell's changes as overlays\/shell-[0-9a-f]{16}\.tar, added to overlay\.layers by kiln\.conf\.d\/50-layer-shell-[0-9a-f]{16}\.toml/);
    const layer = readdirSync(join(dir, 'overlays')).filter((n) => n.endsWith('.tar'));
    assert.equal(layer.length, 1);
    assert.match(readFileSync(join(dir, 'kiln.conf.d', `50-layer-${layer[0]!.replace(/\.tar$/, '')}.toml`), 'utf8'), /layers = \{ add = \["overlays\/shell-[0-9a-f]+\.tar"\] \}/);
    // The checkpoint still passes its verification and a second shell there does not see the fix.
    const again = await inImage('test ! -e /etc/fixed && test -e /etc/motd && echo untouched', ['--stage', 'configure']);
    assert.match(again.stdout, /^untouched$/m);
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^reusing .*configure \(the configure checkpoint [0-9a-f]+\)$/m, 'resumed from the configure checkpoint');
    assert.match(r.stderr, /^layer .*overlays\/shell-[0-9a-f]+\.tar: \d+ entries, 1 removals$/m);
    assert.ok(existsSync(join(dir, 'out/image/etc/fixed')));
    assert.equal(readFileSync(join(dir, 'out/image/etc/fixed'), 'utf8'), `${token}\n`);
    assert.ok(!existsSync(join(dir, 'out/image/etc/motd')));
  });

  test('kiln inspect --top 5 lists five packages and five files', async () => {
    const r = await kiln(['inspect', '--top', '5', join(dir, 'out/image')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.match(/largest packages:\n((?:  .*\n)+)/)?.[1]?.trim().split('\n').length, 5);
    assert.equal(r.stdout.match(/largest files:\n((?:  \s*[\d.]+ (?:B|KiB|MiB) {2}\/.*\n)+)/)?.[1]?.trim().split('\n').length, 5, r.stdout);
  });

  test('--stage without a checkpoint, or an unknown stage, is one line and exit 2', async () => {
    const unknown = await kiln(['shell', '-C', dir, '--stage', 'unpack', '--', 'true']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^kiln: error: --stage unpack: no such stage with a checkpoint$/m);
    const off = await kiln(['shell', '-C', dir, '--stage', 'configure', '--set', 'build.checkpoints=false', '--', 'true']);
    assert.equal(off.code, 2);
    assert.match(off.stderr, /^kiln: error: --stage configure: no configure checkpoint for this configuration$/m);
  });
});
