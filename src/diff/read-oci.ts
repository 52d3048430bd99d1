/**
 * An OCI image layout directory (oci-layout, index.json, blobs/) as a
 * listing: its one image's layer, streamed like a tar. An image of more than
 * one layer is refused (whiteouts would have to be applied); kiln writes one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.ts';
import { compressionOf, listTarFile, readHead } from './read-tar.ts';
import type { InputReader, ListedInput } from './types.ts';

interface Descriptor {
  mediaType?: string;
  digest: string;
}

function blobPath(layout: string, d: Descriptor): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d.digest);
  if (!m) throw new UserError(`${layout}: unsupported blob digest ${d.digest}`, 'kiln diff reads sha256 OCI layouts');
  return join(layout, 'blobs', 'sha256', m[1] as string);
}

function readJson(layout: string, file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${layout}: cannot read ${file}: ${(err as Error).message}`, 'give an OCI image layout directory', { cause: err });
  }
}

/** The layer blob of the layout's only image. */
export function ociLayer(layout: string): string {
  const index = readJson(layout, join(layout, 'index.json'));
  const manifests = (index.manifests ?? []) as Descriptor[];
  if (manifests.length !== 1) throw new UserError(`${layout} holds ${manifests.length} images`, 'kiln diff compares OCI layouts of one image');
  const manifest = readJson(layout, blobPath(layout, manifests[0] as Descriptor));
  const layers = (manifest.layers ?? []) as Descriptor[];
  if (layers.length !== 1) throw new UserError(`${layout}'s image has ${layers.length} layers`, 'kiln diff compares single-layer OCI images (as kiln writes them)');
  return blobPath(layout, layers[0] as Descriptor);
}

export const ociReader: InputReader = {
  name: 'oci',
  recognises: (path, _head, isDirectory) => isDirectory && existsSync(join(path, 'oci-layout')) && existsSync(join(path, 'index.json')),
  async list(layout: string): Promise<ListedInput> {
    const layer = ociLayer(layout);
    const kind = compressionOf(await readHead(layer));
    if (!kind) throw new UserError(`${layout}: the layer ${layer} is not a tar`, 'kiln diff reads tar layers (plain, gzip, xz, zstd)');
    return listTarFile(layer, kind);
  },
};
