/**
 * The cpio and OCI outputs of real builds (the Arch fixture repositories,
 * test/helpers/fake-arch.ts, served on 127.0.0.1), checked with other
 * people's tools as the unprivileged test user: GNU cpio lists the tar's
 * paths, umoci unpacks the layout rootless into the same tree, skopeo reads
 * the layout (architecture, os, digests) and copies the archive; a second
 * build in another image directory gives the same bytes; an aarch64 build
 * is an arm64/v8 image.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';
import type { Manifest } from '../../src/outputs/index.ts';

const skip = skipOrFail(integrationSkipReason() ?? fakeArchSkipReason(['x86_64', 'aarch64']) ?? missingTools(['cpio', 'umoci', 'skopeo', 'zstd', 'runuser']));

const FORMATS = ['tar', 'cpio', 'cpio.zst', 'oci', 'oci.tar'];

/** Runs a command as the test user (as the test itself when not root); its stdout, failing on a non-zero exit. */
function as(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const argv = isRoot ? ['runuser', '-u', TEST_USER, '--', cmd, ...args] : [cmd, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? tmpdir(), encoding: 'utf8', maxBuffer: 1 << 28, env: { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'UTC', HOME: tmpdir() } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The paths of a tar listing as cpio names them: "." for the root, no "./" prefix, no trailing "/". */
function tarPaths(tarFile: string): string[] {
  return as('tar', ['-tf', tarFile])
    .split('\n')
    .filter(Boolean)
    .map((p) => (p === './' ? '.' : p.replace(/^\.\//, '').replace(/\/$/, '')));
}

describe('cpio and OCI outputs of an Arch fixture build', { skip }, () => {
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let alarmMirror: Mirror;
  let keyring: string;
  let cache: string;
  let first: string;
  /** A tar with a file capability and a user xattr, copied into the tree (overlay.extra). */
  let extra: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cpio-oci-fixture-'));
    repos = await makeFakeArchRepos(dir, { architectures: ['x86_64', 'aarch64'] });
    mirror = await startMirror(repos.root);
    alarmMirror = await startMirror(repos.alarmRoot as string);
    keyring = readableKeyring(repos, 'cpio-oci');
    cache = imageDir();
    const staging = mkdtempSync(join(tmpdir(), 'kiln-cpio-oci-extra-'));
    mkdirSync(join(staging, 'usr/bin'), { recursive: true });
    writeFileSync(join(staging, 'usr/bin/kiln-ping'), 'a ping that needs cap_net_raw\n');
    spawnSync('setcap', ['cap_net_raw+ep', join(staging, 'usr/bin/kiln-ping')]);
    spawnSync('setfattr', ['-n', 'user.kiln-test', '-v', 'yes', join(staging, 'usr/bin/kiln-ping')]);
    extra = join(dirname(keyring), 'extra.tar');
    const tarred = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '--owner=0', '--group=0', '-cf', extra, '-C', staging, 'usr/bin/kiln-ping']);
    assert.equal(tarred.status, 0, String(tarred.stderr));
    chmodSync(extra, 0o644);
  });
  after(async () => {
    await mirror?.close();
    await alarmMirror?.close();
  });

  const toml = (name: string, arch: string, mirrorUrl: string, formats: string[]) =>
    `[distribution]\nname = "${name}"\narchitecture = "${arch}"\nmirror = "${mirrorUrl}"\nkeyring = ["${keyring}"]\n\n[packages]\ninstall = ["kiln-hook"]\n\n[overlay]\nextra = "${extra}"\n\n[output]\nformat = ${JSON.stringify(formats)}\n\n[oci]\ntag = "latest"\ncmd = ["/usr/bin/bash"]\nlabels = { team = "images" }\n\n[build]\ncache-directory = "${cache}"\n`;

  test('x86_64: cpio lists the tar, umoci unpacks the same tree, skopeo reads the layout and copies the archive', async () => {
    first = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`, FORMATS));
    const r = await kiln(['build', '-C', first]);
    assert.equal(r.code, 0, r.stderr);
    // The capability and the user xattr go into the tar and the layer; the cpio outputs cannot hold them and say so once.
    assert.match(spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', join(first, 'out/image.tar'), './usr/bin/kiln-ping'], { encoding: 'utf8' }).stdout, /security\.capability/);
    assert.equal((r.stderr.match(/cpio \(newc\) cannot hold extended attributes/g) ?? []).length, 1, r.stderr);
    assert.match(r.stderr, /cpio \(newc\) cannot hold extended attributes: \/usr\/bin\/kiln-ping \(security\.capability, user\.kiln-test\)/);
    const out = join(first, 'out');
    for (const f of ['image.tar', 'image.cpio', 'image.cpio.zst', 'image.oci/index.json', 'image.oci.tar']) assert.ok(existsSync(join(out, f)), f);
    const paths = tarPaths(join(out, 'image.tar'));
    assert.ok(paths.length > 100 && paths[0] === '.', `${paths.length} paths`);

    // GNU cpio lists the same paths, in the same order, with owners as in the tree (root in the namespace).
    const listing = as('cpio', ['-itv', '--quiet', '-F', join(out, 'image.cpio')]).split('\n').filter(Boolean);
    assert.deepEqual(listing.map((l) => l.split(/\s+/).slice(8).join(' ').replace(/ -> .*$/, '')), paths);
    assert.ok(listing.every((l) => / root +root /.test(l)), listing.find((l) => !/ root +root /.test(l)));
    if (isRoot) {
      // Extracted as root, the cpio is the tree the tar holds: owners, modes, types, link targets, hard link counts.
      const fromCpio = mkdtempSync(join(tmpdir(), 'kiln-cpio-x-'));
      const fromTar = mkdtempSync(join(tmpdir(), 'kiln-tar-x-'));
      const x = spawnSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', join(out, 'image.cpio')], { cwd: fromCpio, encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      const t = spawnSync('tar', ['-xpf', join(out, 'image.tar'), '--numeric-owner', '-C', fromTar], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      const described = (dir: string) => spawnSync('find', ['.', '-printf', '%p %U:%G %m %y %l %n %T@\\n'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 }).stdout.split('\n').sort();
      // GNU cpio sets neither the mode of "." (the directory it extracts into) nor the times of directories and symlinks: only files' times are compared.
      chmodSync(fromCpio, 0o755);
      const comparable = (lines: string[]) => lines.map((l) => (/^\S+ \S+ \d+ [dl] /.test(l) ? l.replace(/ [\d.]+$/, '') : l));
      const cpioView = comparable(described(fromCpio));
      assert.ok(cpioView.length > 100 && cpioView.some((l) => / l /.test(l)), 'files and symlinks');
      assert.deepEqual(cpioView, comparable(described(fromTar)), 'path, owner, mode, type, link target, link count, a file\'s mtime');
    }
    const unzst = join(mkdtempSync(join(tmpdir(), 'kiln-cpio-')), 'image.cpio');
    spawnSync('zstd', ['-dq', join(out, 'image.cpio.zst'), '-o', unzst]);
    assert.equal(sha256(unzst), sha256(join(out, 'image.cpio')), 'cpio.zst is the cpio, compressed');

    // umoci, rootless, as the test user: the layer is the tree.
    const work = imageDir();
    as('umoci', ['unpack', '--rootless', '--image', `${join(out, 'image.oci')}:latest`, join(work, 'bundle')]);
    const rootfs = join(work, 'bundle/rootfs');
    const unpacked = as('find', ['.'], { cwd: rootfs })
      .split('\n')
      .filter(Boolean)
      .map((p) => (p === '.' ? '.' : p.slice(2)));
    assert.deepEqual(unpacked.sort(), [...paths].sort());
    for (const file of ['usr/bin/bash', 'etc/pacman.conf', 'usr/lib/os-release']) {
      const fromTar = spawnSync('tar', ['-xOf', join(out, 'image.tar'), `./${file}`], { maxBuffer: 1 << 28 }).stdout;
      assert.ok(fromTar.length > 0, file);
      assert.ok(readFileSync(join(rootfs, file)).equals(fromTar), `${file}: the same bytes`);
    }

    // skopeo: platform, digests, the config kiln wrote; the manifest records the same digests.
    const inspect = JSON.parse(as('skopeo', ['inspect', `oci:${join(out, 'image.oci')}:latest`]));
    assert.deepEqual([inspect.Architecture, inspect.Os], ['amd64', 'linux']);
    const raw = as('skopeo', ['inspect', '--raw', `oci:${join(out, 'image.oci')}:latest`]);
    const config = JSON.parse(as('skopeo', ['inspect', '--config', `oci:${join(out, 'image.oci')}:latest`]));
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.variant, undefined);
    assert.deepEqual(config.config.Cmd, ['/usr/bin/bash']);
    assert.deepEqual(config.config.Labels, { team: 'images' });
    const manifest = JSON.parse(raw);
    assert.equal(inspect.Digest, `sha256:${createHash('sha256').update(raw).digest('hex')}`);
    assert.equal(manifest.annotations['org.opencontainers.image.created'], config.created);
    const recorded = JSON.parse(readFileSync(join(out, 'image.manifest.json'), 'utf8')) as Manifest;
    const oci = recorded.outputs.find((o) => o.format === 'oci');
    assert.deepEqual(oci?.details, { digest: inspect.Digest, config: manifest.config.digest, layers: inspect.Layers, tag: 'latest' });
    assert.deepEqual(recorded.outputs.find((o) => o.format === 'oci.tar')?.details, oci?.details, 'oci.tar records the image it holds');
    assert.deepEqual(recorded.outputs.find((o) => o.format === 'cpio')?.details, { entries: paths.length });

    // The archive: skopeo copies it into a layout of its own, unchanged.
    const copy = join(imageDir(), 'copy');
    as('skopeo', ['copy', '--quiet', `oci-archive:${join(out, 'image.oci.tar')}:latest`, `oci:${copy}:latest`]);
    assert.equal(JSON.parse(as('skopeo', ['inspect', `oci:${copy}:latest`])).Digest, inspect.Digest);
  });

  test('a second build in another image directory gives the same bytes', async () => {
    assert.ok(first, 'the first build ran');
    const second = imageDir(toml('archlinux', 'x86_64', `${mirror.url}/$repo/os/$arch`, FORMATS));
    // --rebuild: the tree is made again (other times, another directory), not restored from the first build's checkpoints.
    const r = await kiln(['build', '-C', second, '--rebuild']);
    assert.equal(r.code, 0, r.stderr);
    const differing = ['image.tar', 'image.cpio', 'image.cpio.zst', 'image.oci.tar', 'image.oci/index.json'].filter((f) => sha256(join(first, 'out', f)) !== sha256(join(second, 'out', f)));
    assert.deepEqual(differing, [], 'outputs that differ between the two builds');
    const digest = (dir: string) => (JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as Manifest).outputs.find((o) => o.format === 'oci')?.details?.digest;
    assert.equal(digest(second), digest(first));
  });

  test('aarch64 (Arch Linux ARM, emulated), oci.tar alone: an arm64/v8 image, and no layout directory left', async () => {
    const dir = imageDir(toml('archlinuxarm', 'aarch64', `${alarmMirror.url}/$arch/$repo`, ['oci.tar']));
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(dir, 'out/image.oci')), 'the layout was made only to make the archive');
    const archive = `oci-archive:${join(dir, 'out/image.oci.tar')}:latest`;
    const inspect = JSON.parse(as('skopeo', ['inspect', archive]));
    assert.deepEqual([inspect.Architecture, inspect.Os], ['arm64', 'linux']);
    const config = JSON.parse(as('skopeo', ['inspect', '--config', archive]));
    assert.deepEqual([config.architecture, config.variant, config.os], ['arm64', 'v8', 'linux']);
    const index = JSON.parse(as('tar', ['-xOf', join(dir, 'out/image.oci.tar'), 'index.json']));
    assert.deepEqual(index.manifests[0].platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  });
});
