/**
 * OCI image outputs. `oci` is an image layout directory (NAME.oci/:
 * oci-layout, index.json, blobs/sha256/) with one manifest, one config and
 * one layer: the tree as the tar output writes it (writeTreeAsTar: sorted,
 * owners and xattrs kept, times clamped, no sockets), gzip-compressed with
 * `gzip -n`. `oci.tar` is that layout as a tar archive, for `podman load`
 * and `skopeo copy oci-archive:`. Both are the same bytes for the same tree
 * and settings, whatever the umask or the time of day.
 */
import { createHash, type Hash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compress, TarWriter, writeTreeAsTar } from '../archive/index.ts';
import { UserError } from '../util/errors.ts';
import { VERSION } from '../version.ts';
import { GETFATTR, GZIP } from './host-tools.ts';
import { canonicalJson, describeBlob, imageAnnotations, imageConfig, imageIndex, imageManifest, MEDIA_TYPES, OCI_LAYOUT, type Descriptor } from './oci-json.ts';
import { findDistribution } from '../catalog/index.ts';
import { ociPlatform } from './oci-platform.ts';
import type { OutputDetails, OutputWriter, WriterInput } from './writer.ts';

/** A whiteout name: an OCI layer reader deletes what such a file names instead of making it. */
const WHITEOUT = '.wh.';

/** Passes bytes through, hashing and counting them. */
function digesting(hash: Hash, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

function refuseWhiteouts(rel: string): void {
  if (basename(rel).startsWith(WHITEOUT)) {
    throw new UserError(`the tree has /${rel}, which an OCI layer reader takes for a whiteout (a deletion), not a file`, 'remove or rename it in a hook, or leave oci out of output.format');
  }
}

/** Writes the layer blob into `blobs` (the tree as a gzip-compressed tar); returns its descriptor and the uncompressed digest. */
async function writeLayer(input: WriterInput, blobs: string): Promise<{ layer: Descriptor; diffId: string }> {
  const xattrs = await input.tree.xattrs();
  const part = join(blobs, '.layer.part');
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const tarCount = { bytes: 0 };
  const gzCount = { bytes: 0 };
  const tar = new PassThrough({ highWaterMark: 1 << 20 });
  const sink = pipeline(tar, digesting(tarHash, tarCount), compress('gz'), digesting(gzHash, gzCount), createWriteStream(part));
  const archive = writeTreeAsTar(input.root, tar, { mtimeClamp: input.sourceDateEpoch, xattrs, onPath: refuseWhiteouts }).catch((err: unknown) => {
    tar.destroy(); // the pipeline ends, and gzip with it, rather than waiting for the rest of the tar
    throw err;
  });
  await Promise.all([archive, sink]);
  const digest = `sha256:${gzHash.digest('hex')}`;
  await rename(part, join(blobs, digest.slice('sha256:'.length)));
  return { layer: { mediaType: MEDIA_TYPES.layerGzip, digest, size: gzCount.bytes }, diffId: `sha256:${tarHash.digest('hex')}` };
}

async function writeBlob(blobs: string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
  const d = describeBlob(mediaType, bytes);
  await writeFile(join(blobs, d.digest.slice('sha256:'.length)), bytes);
  return d;
}

/** Modes that do not depend on the umask: 0755 directories, 0644 files. */
async function fixModes(layout: string): Promise<void> {
  for (const dir of [layout, join(layout, 'blobs'), join(layout, 'blobs/sha256')]) await chmod(dir, 0o755);
  for (const f of ['oci-layout', 'index.json']) await chmod(join(layout, f), 0o644);
  for (const f of await readdir(join(layout, 'blobs/sha256'))) await chmod(join(layout, 'blobs/sha256', f), 0o644);
}

export const ociWriter: OutputWriter<never> = {
  fileName: (name) => `${name}.oci`,
  tools: [GETFATTR, GZIP],
  from: [],
  takesTree: false,
  write: async (input) => {
    const { config: c, sourceDateEpoch } = input;
    const blobs = join(input.tmp, 'blobs/sha256');
    await mkdir(blobs, { recursive: true });
    const { layer, diffId } = await writeLayer(input, blobs);
    const platform = ociPlatform(input.machine, findDistribution(c['distribution.name'])?.armVersions?.[input.architecture]);
    const imageConfigBytes = canonicalJson(
      imageConfig({
        platform,
        created: sourceDateEpoch,
        diffId,
        createdBy: `kiln ${VERSION}: the ${c['distribution.name']} ${c['distribution.architecture']} tree as one layer`,
        container: {
          entrypoint: c['oci.entrypoint'],
          cmd: c['oci.cmd'],
          env: c['oci.env'],
          workingDir: c['oci.working-dir'],
          user: c['oci.user'],
          labels: c['oci.labels'],
        },
      }),
    );
    const configBlob = await writeBlob(blobs, imageConfigBytes, MEDIA_TYPES.config);
    const annotations = imageAnnotations(
      {
        created: sourceDateEpoch,
        title: c['output.name'],
        distribution: c['distribution.name'],
        release: c['distribution.release'],
        architecture: c['distribution.architecture'],
        board: c['board.name'],
      },
      c['oci.annotations'],
    );
    const manifest = await writeBlob(blobs, canonicalJson(imageManifest(configBlob, [layer], annotations)), MEDIA_TYPES.manifest);
    await writeFile(join(input.tmp, 'index.json'), canonicalJson(imageIndex(manifest, c['oci.tag'], platform)));
    await writeFile(join(input.tmp, 'oci-layout'), canonicalJson(OCI_LAYOUT));
    await fixModes(input.tmp);
    return { digest: manifest.digest, config: configBlob.digest, layers: [layer.digest], tag: c['oci.tag'] };
  },
};

/** The manifest's details of a layout kiln wrote (one manifest), read back from it. */
async function layoutDetails(layout: string): Promise<OutputDetails> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations: Record<string, string> })[] };
  const [entry] = index.manifests;
  if (!entry || index.manifests.length !== 1) throw new Error(`${layout}/index.json: expected one manifest`);
  const manifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', entry.digest.slice('sha256:'.length)), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  return { digest: entry.digest, config: manifest.config.digest, layers: manifest.layers.map((l) => l.digest), tag: entry.annotations['org.opencontainers.image.ref.name'] };
}

/** The layout's paths in archive order: directories before their contents, names sorted. */
async function layoutPaths(layout: string): Promise<{ path: string; dir: boolean }[]> {
  const blobs = (await readdir(join(layout, 'blobs/sha256'))).sort();
  return [
    { path: 'blobs', dir: true },
    { path: 'blobs/sha256', dir: true },
    ...blobs.map((b) => ({ path: `blobs/sha256/${b}`, dir: false })),
    { path: 'index.json', dir: false },
    { path: 'oci-layout', dir: false },
  ];
}

/** The oci layout as a tar: fixed owners (0:0), modes and times, so only the content decides its bytes. */
export const ociArchiveWriter: OutputWriter<'oci'> = {
  fileName: (name) => `${name}.oci.tar`,
  tools: [],
  from: ['oci'],
  takesTree: false,
  write: async ({ made, tmp, sourceDateEpoch }) => {
    const layout = made.oci!;
    const out = createWriteStream(tmp, { mode: 0o644 });
    const writer = new TarWriter(out);
    const base = { uid: 0, gid: 0, uname: '', gname: '', mtime: sourceDateEpoch, xattrs: new Map<string, Buffer>() };
    for (const { path, dir } of await layoutPaths(layout)) {
      if (dir) {
        await writer.add({ ...base, path, type: 'dir', mode: 0o755, size: 0 });
        continue;
      }
      const size = (await stat(join(layout, path))).size;
      await writer.add({ ...base, path, type: 'file', mode: 0o644, size }, createReadStream(join(layout, path), { highWaterMark: 1 << 20 }));
    }
    await writer.finish();
    return layoutDetails(layout);
  },
};
