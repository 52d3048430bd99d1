/**
 * The OCI outputs on a tiny tree: index -> manifest -> config -> layer, each
 * digest the sha256 of its blob and each size its length, the media types,
 * the diff_id the uncompressed layer's digest, the [oci] settings in the
 * config, the same bytes twice (another directory, another umask, later),
 * oci.tar holding the same layout, a whiteout name refused; skopeo reads
 * the layout; and the platform of every machine kiln knows.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, symlinkSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { readTar } from '../../src/archive/index.ts';
import { DISTRIBUTIONS } from '../../src/catalog/index.ts';
import { MACHINES, type Machine } from '../../src/catalog/machines.ts';
import type { Config } from '../../src/config/index.ts';
import { ociArchiveWriter, ociWriter } from '../../src/outputs/oci.ts';
import { ociPlatform } from '../../src/outputs/oci-platform.ts';
import type { WriterInput } from '../../src/outputs/writer.ts';
import { silent } from '../../src/util/events.ts';
import { UserError } from '../../src/util/errors.ts';
import { have, run, tempDir } from '../fixtures/archive-helpers.ts';

const SDE = 1_700_000_000;

function settings(extra: Record<string, unknown> = {}): Config {
  return {
    'distribution.name': 'debian',
    'distribution.release': 'bookworm',
    'distribution.architecture': 'arm64',
    'board.name': undefined,
    'output.name': 'image',
    'oci.entrypoint': undefined,
    'oci.cmd': undefined,
    'oci.env': {},
    'oci.working-dir': undefined,
    'oci.user': undefined,
    'oci.labels': {},
    'oci.annotations': {},
    'oci.tag': 'latest',
    ...extra,
  } as unknown as Config;
}

function input(root: string, tmp: string, config: Config, made: Record<string, string> = {}): WriterInput {
  return {
    root,
    tmp,
    made,
    sourceDateEpoch: SDE,
    rootOnTmpfs: false,
    tree: { xattrs: async () => new Map() },
    config,
    machine: 'aarch64',
    architecture: 'arm64',
    seed: 'test',
    imageDir: '/nonexistent',
    emit: silent,
  };
}

function tinyTree(root: string): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), 'ID=debian\n');
  writeFileSync(join(root, 'usr/bin/hello'), '#!/bin/sh\necho hello\n');
  chmodSync(join(root, 'usr/bin/hello'), 0o755);
  symlinkSync('usr/bin', join(root, 'bin'));
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (layout: string, digest: string) => readFileSync(join(layout, 'blobs/sha256', digest.slice(7)));

test('the layout: index -> manifest -> config -> layer, digests and sizes right, media types, diff_id, [oci] settings', async (t) => {
  const dir = tempDir(t, 'oci');
  const root = join(dir, 'root');
  tinyTree(root);
  const layout = join(dir, 'image.oci');
  const config = settings({ 'oci.entrypoint': ['/usr/bin/hello'], 'oci.env': { LANG: 'C.UTF-8', A: '1' }, 'oci.user': '1000:1000', 'oci.working-dir': '/srv', 'oci.labels': { z: '1', a: '2' }, 'oci.annotations': { 'org.example.team': 'images' }, 'oci.tag': 'v1' });
  const details = (await ociWriter.write(input(root, layout, config))) as Record<string, unknown>;
  assert.deepEqual(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.equal(index.manifests.length, 1);
  const m = index.manifests[0];
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.deepEqual(m.annotations, { 'org.opencontainers.image.ref.name': 'v1' });
  assert.deepEqual(m.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  const manifestBytes = blob(layout, m.digest);
  assert.equal(sha(manifestBytes), m.digest);
  assert.equal(manifestBytes.length, m.size);
  const manifest = JSON.parse(manifestBytes.toString());
  assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.equal(manifest.layers.length, 1);
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.deepEqual(manifest.annotations, {
    'org.example.team': 'images',
    'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
    'org.opencontainers.image.description': 'debian bookworm arm64',
    'org.opencontainers.image.title': 'image',
    'org.opencontainers.image.version': 'bookworm',
  });
  const configBytes = blob(layout, manifest.config.digest);
  assert.equal(sha(configBytes), manifest.config.digest);
  assert.equal(configBytes.length, manifest.config.size);
  const layerBytes = blob(layout, manifest.layers[0].digest);
  assert.equal(sha(layerBytes), manifest.layers[0].digest);
  assert.equal(layerBytes.length, manifest.layers[0].size);
  const image = JSON.parse(configBytes.toString());
  assert.deepEqual(Object.keys(image), ['created', 'architecture', 'os', 'variant', 'config', 'rootfs', 'history']);
  assert.equal(image.created, '2023-11-14T22:13:20Z');
  assert.deepEqual([image.architecture, image.os, image.variant], ['arm64', 'linux', 'v8']);
  assert.deepEqual(image.config, {
    User: '1000:1000',
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1', 'LANG=C.UTF-8'],
    Entrypoint: ['/usr/bin/hello'],
    WorkingDir: '/srv',
    Labels: { a: '2', z: '1' },
  });
  const tar = gunzipSync(layerBytes);
  assert.deepEqual(image.rootfs, { type: 'layers', diff_ids: [sha(tar)] });
  assert.equal(image.history.length, 1);
  const paths: string[] = [];
  for await (const item of readTar(tar)) paths.push(item.entry.path);
  assert.deepEqual(paths, ['.', 'bin', 'etc', 'etc/os-release', 'usr', 'usr/bin', 'usr/bin/hello']);
  assert.deepEqual(details, { digest: m.digest, config: manifest.config.digest, layers: [manifest.layers[0].digest], tag: 'v1' });
  // Nothing but the three blobs.
  assert.deepEqual(readdirSync(join(layout, 'blobs/sha256')).sort(), [m.digest, manifest.config.digest, manifest.layers[0].digest].map((d: string) => d.slice(7)).sort());
});

test('no entrypoint and no cmd: Cmd is a shell; a cmd is kept as given', async (t) => {
  const dir = tempDir(t, 'oci');
  const root = join(dir, 'root');
  tinyTree(root);
  const configOf = async (layout: string, config: Config) => {
    await ociWriter.write(input(root, layout, config));
    const manifest = JSON.parse(blob(layout, JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0].digest).toString());
    return JSON.parse(blob(layout, manifest.config.digest).toString()).config;
  };
  assert.deepEqual((await configOf(join(dir, 'a.oci'), settings())).Cmd, ['/bin/sh']);
  assert.deepEqual((await configOf(join(dir, 'b.oci'), settings({ 'oci.cmd': ['/bin/bash', '-l'] }))).Cmd, ['/bin/bash', '-l']);
  const withEntrypoint = await configOf(join(dir, 'c.oci'), settings({ 'oci.entrypoint': ['/usr/bin/hello'], 'oci.env': { PATH: '/bin' } }));
  assert.equal(withEntrypoint.Cmd, undefined);
  assert.deepEqual(withEntrypoint.Env, ['PATH=/bin']);
});

test('the same bytes from the same tree made again later, elsewhere, under another umask; oci.tar too', async (t) => {
  const dir = tempDir(t, 'oci');
  const digests: string[] = [];
  const tars: string[] = [];
  for (const [i, umask] of [0o022, 0o077].entries()) {
    const root = join(dir, `root${i}`);
    const old = process.umask(umask);
    try {
      tinyTree(root);
      if (i === 0) utimesSync(join(root, 'etc/os-release'), SDE + 10, SDE + 10); // newer than SOURCE_DATE_EPOCH: clamped
      chmodSync(join(root, 'usr/bin/hello'), 0o755);
      chmodSync(join(root, 'etc/os-release'), 0o644);
      for (const d of ['', 'etc', 'usr', 'usr/bin']) chmodSync(join(root, d), 0o755);
      const layout = join(dir, `image${i}.oci`);
      const details = (await ociWriter.write(input(root, layout, settings()))) as { digest: string };
      digests.push(details.digest);
      assert.equal(statSync(join(layout, 'index.json')).mode & 0o777, 0o644, 'modes do not follow the umask');
      assert.equal(statSync(join(layout, 'blobs')).mode & 0o777, 0o755);
      const tarFile = join(dir, `image${i}.oci.tar`);
      await ociArchiveWriter.write({ ...input(root, tarFile, settings()), made: { oci: layout } });
      tars.push(sha(readFileSync(tarFile)));
      if (i === 0) {
        const listing = run('tar', ['-tvf', tarFile, '--numeric-owner']).toString().trim().split('\n');
        assert.deepEqual(listing.map((l) => l.split(/\s+/).at(-1)), ['blobs/', 'blobs/sha256/', ...readdirSync(join(layout, 'blobs/sha256')).sort().map((b) => `blobs/sha256/${b}`), 'index.json', 'oci-layout']);
        assert.ok(listing.every((l) => / 0\/0 /.test(l)), listing.join('\n'));
      }
    } finally {
      process.umask(old);
    }
    await new Promise((ok) => setTimeout(ok, 1100)); // the second tree is made in a later second
  }
  assert.equal(digests[0], digests[1]);
  assert.equal(tars[0], tars[1]);
});

test('a whiteout name in the tree is refused in one line', async (t) => {
  const dir = tempDir(t, 'oci');
  const root = join(dir, 'root');
  tinyTree(root);
  writeFileSync(join(root, 'etc/.wh.hosts'), '');
  await assert.rejects(ociWriter.write(input(root, join(dir, 'image.oci'), settings())), (err: unknown) => err instanceof UserError && /the tree has \/etc\/\.wh\.hosts, which an OCI layer reader takes for a whiteout/.test(err.message));
  // The compressor it started does not linger, waiting for the rest of the layer (generous bound: it is killed at once).
  const gzipChildren = () => spawnSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout.split('\n').filter((c) => c === 'gzip');
  for (let i = 0; i < 100 && gzipChildren().length > 0; i++) await new Promise((ok) => setTimeout(ok, 100));
  assert.deepEqual(gzipChildren(), [], 'no gzip left running');
});

test('skopeo reads the layout and its archive: architecture, variant, os, the layer', { skip: have('skopeo') ? undefined : 'skopeo missing: install skopeo' }, async (t) => {
  const dir = tempDir(t, 'oci');
  const root = join(dir, 'root');
  tinyTree(root);
  const layout = join(dir, 'image.oci');
  const details = (await ociWriter.write(input(root, layout, settings()))) as { digest: string; layers: string[] };
  const inspect = JSON.parse(run('skopeo', ['inspect', `oci:${layout}:latest`]).toString());
  assert.deepEqual([inspect.Architecture, inspect.Os], ['arm64', 'linux']);
  const image = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:latest`]).toString());
  assert.deepEqual([image.architecture, image.variant, image.os], ['arm64', 'v8', 'linux']);
  assert.equal(inspect.Digest, details.digest);
  assert.deepEqual(inspect.Layers, details.layers);
  const archive = join(dir, 'image.oci.tar');
  await ociArchiveWriter.write({ ...input(root, archive, settings()), made: { oci: layout } });
  const copy = join(dir, 'copy');
  run('skopeo', ['copy', `oci-archive:${archive}:latest`, `oci:${copy}:latest`]);
  assert.equal(JSON.parse(run('skopeo', ['inspect', `oci:${copy}:latest`]).toString()).Digest, details.digest, 'copied unchanged');
});

test('umoci unpacks the layout into the tree', { skip: have('umoci') ? undefined : 'umoci missing: install umoci' }, async (t) => {
  const dir = tempDir(t, 'oci');
  const root = join(dir, 'root');
  tinyTree(root);
  const layout = join(dir, 'image.oci');
  await ociWriter.write(input(root, layout, settings()));
  const bundle = join(dir, 'bundle');
  run('umoci', ['unpack', ...(process.getuid?.() === 0 ? [] : ['--rootless']), '--image', `${layout}:latest`, bundle]);
  assert.equal(readFileSync(join(bundle, 'rootfs/usr/bin/hello'), 'utf8'), '#!/bin/sh\necho hello\n');
  assert.equal(statSync(join(bundle, 'rootfs/usr/bin/hello')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(bundle, 'rootfs/bin')), 'usr/bin');
});

test('an Alpine armhf image is labelled arm/v6 and an armv7 one arm/v7, in the index and the image config', async (t) => {
  const dir = tempDir(t, 'oci-arm');
  const root = join(dir, 'root');
  tinyTree(root);
  for (const [architecture, variant] of [['armhf', 'v6'], ['armv7', 'v7']] as const) {
    const layout = join(dir, `${architecture}.oci`);
    await ociWriter.write({ ...input(root, layout, settings({ 'distribution.name': 'alpine', 'distribution.architecture': architecture })), machine: 'arm', architecture });
    const m = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests[0];
    assert.deepEqual(m.platform, { architecture: 'arm', os: 'linux', variant }, architecture);
    const config = JSON.parse(blob(layout, JSON.parse(blob(layout, m.digest).toString()).config.digest).toString());
    assert.deepEqual([config.architecture, config.variant], ['arm', variant], architecture);
  }
});

test('every machine has an OCI platform in the Go spelling, and 32-bit ARM the variant its catalog entry gives', () => {
  const expected: Record<Machine, string> = { x86_64: 'amd64', i386: '386', aarch64: 'arm64/v8', arm: 'arm', riscv64: 'riscv64', loongarch64: 'loong64', ppc64le: 'ppc64le', s390x: 's390x', mips64el: 'mips64le' };
  for (const machine of MACHINES) {
    const p = ociPlatform(machine, undefined);
    assert.equal(p.os, 'linux');
    assert.equal([p.architecture, p.variant].filter(Boolean).join('/'), expected[machine], machine);
  }
  // Each distribution architecture kiln knows; the same name is not the same ARM everywhere (armhf).
  const arm: Record<string, string> = { 'debian armhf': 'arm/v7', 'debian armel': 'arm/v5', 'ubuntu armhf': 'arm/v7', 'archlinuxarm armv7h': 'arm/v7', 'alpine armhf': 'arm/v6', 'alpine armv7': 'arm/v7' };
  const seen: string[] = [];
  for (const d of Object.values(DISTRIBUTIONS)) {
    for (const [arch, machine] of Object.entries(d.architectures)) {
      const p = ociPlatform(machine, d.armVersions?.[arch]);
      const got = [p.architecture, p.variant].filter(Boolean).join('/');
      if (machine === 'arm') seen.push(`${d.name} ${arch}`);
      assert.equal(got, machine === 'arm' ? arm[`${d.name} ${arch}`] : expected[machine], `${d.name} ${arch}`);
    }
    // A version only for an arm architecture of the distribution.
    for (const arch of Object.keys(d.armVersions ?? {})) assert.equal(d.architectures[arch], 'arm', `${d.name} armVersions.${arch}`);
  }
  assert.deepEqual(seen.sort(), Object.keys(arm).sort());
});
