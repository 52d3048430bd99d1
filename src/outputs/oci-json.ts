/**
 * The JSON documents of an OCI image layout (image-spec 1.1): the image
 * config, the manifest and the index. Pure: they are built from plain
 * facts, with every key in a fixed order (the spec's own struct order) and
 * every map sorted by key, and serialised without whitespace, so the same
 * facts always give the same bytes and so the same digests.
 */
import { createHash } from 'node:crypto';
import type { OciPlatform } from './oci-platform.ts';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const OCI_LAYOUT = { imageLayoutVersion: '1.0.0' } as const;

/** The PATH a container gets when oci.env does not set one (what Debian's and Arch's images set). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: OciPlatform;
}

/** What [oci] says about the container (the settings oci.*). */
export interface ContainerSettings {
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  env: Readonly<Record<string, string>>;
  workingDir?: string;
  user?: string;
  labels: Readonly<Record<string, string>>;
}

export interface ImageFacts {
  platform: OciPlatform;
  /** SOURCE_DATE_EPOCH, seconds. */
  created: number;
  /** The uncompressed layer's digest (rootfs.diff_ids). */
  diffId: string;
  /** One line for the history: which program made the layer. */
  createdBy: string;
  container: ContainerSettings;
}

/** JSON without whitespace: the bytes a digest is taken of. */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A descriptor of `bytes` as a blob of `mediaType`. */
export function describeBlob(mediaType: string, bytes: Buffer): Descriptor {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length };
}

/** RFC 3339 in UTC, whole seconds (2024-01-31T12:00:00Z). */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sorted(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Env as NAME=value: PATH first (the default unless given), then the rest by name. */
export function containerEnv(env: Readonly<Record<string, string>>): string[] {
  const { PATH = DEFAULT_PATH, ...rest } = env;
  return [`PATH=${PATH}`, ...Object.entries(sorted(rest)).map(([k, v]) => `${k}=${v}`)];
}

/** The image config: platform, the container's settings, the one layer, one history entry. */
export function imageConfig(facts: ImageFacts): Record<string, unknown> {
  const c = facts.container;
  // The default command when nothing is said: a shell, as the setting's help promises.
  const cmd = c.cmd ?? (c.entrypoint ? undefined : ['/bin/sh']);
  const created = rfc3339(facts.created);
  const { architecture, os, variant } = facts.platform;
  return {
    created,
    architecture,
    os,
    ...(variant ? { variant } : {}),
    config: {
      ...(c.user !== undefined ? { User: c.user } : {}),
      Env: containerEnv(c.env),
      ...(c.entrypoint ? { Entrypoint: [...c.entrypoint] } : {}),
      ...(cmd ? { Cmd: [...cmd] } : {}),
      ...(c.workingDir !== undefined ? { WorkingDir: c.workingDir } : {}),
      ...(Object.keys(c.labels).length ? { Labels: sorted(c.labels) } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [facts.diffId] },
    history: [{ created, created_by: facts.createdBy }],
  };
}

/** The manifest: the config, the layer, and the annotations (sorted). */
export function imageManifest(config: Descriptor, layers: readonly Descriptor[], annotations: Readonly<Record<string, string>>): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers: [...layers],
    ...(Object.keys(annotations).length ? { annotations: sorted(annotations) } : {}),
  };
}

/** The index: the one manifest, named by its tag, with its platform. */
export function imageIndex(manifest: Descriptor, tag: string, platform: OciPlatform): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag }, platform }],
  };
}

/** What kiln knows of the image, as org.opencontainers.image.* annotations (the user's oci.annotations win). */
export interface ImageIdentity {
  created: number;
  /** output.name */
  title: string;
  distribution: string;
  release?: string;
  architecture: string;
  board?: string;
}

export function imageAnnotations(id: ImageIdentity, extra: Readonly<Record<string, string>>): Record<string, string> {
  const description = [id.distribution, id.release, id.architecture].filter(Boolean).join(' ') + (id.board ? ` for ${id.board}` : '');
  return {
    'org.opencontainers.image.created': rfc3339(id.created),
    'org.opencontainers.image.title': id.title,
    'org.opencontainers.image.description': description,
    ...(id.release ? { 'org.opencontainers.image.version': id.release } : {}),
    ...extra,
  };
}
