/**
 * Writing the outputs of a build from the finished tree. Each is written under
 * a temporary name beside its final one and renamed when complete, so an
 * output that exists is always whole.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { compress, readXattrs, writeTreeAsTar, type Compression } from '../archive/index.ts';
import { run } from '../util/run.ts';
import type { OutputFormat } from '../config/index.ts';
import { outputFile } from './paths.ts';

export interface OutputRequest {
  root: string;
  formats: readonly OutputFormat[];
  directory: string;
  name: string;
  sourceDateEpoch: number;
  /** The root lives on a tmpfs that vanishes: a directory output is copied, not moved. */
  rootOnTmpfs: boolean;
  /** Registry of temporaries to remove if the build is stopped. */
  temporaries: Set<string>;
  /**
   * Files describing the outputs (manifest, SBOM), made once the outputs are
   * written and put in place with them. The tree may be gone by then (a
   * directory output takes it): what they need from the tree is read before.
   */
  describe?(written: Written[]): Promise<{ final: string; content: string }[]>;
}

/** What the writers of one request share: the tree's extended attributes, read once. */
interface WriterShared {
  xattrs(): Promise<Awaited<ReturnType<typeof readXattrs>>>;
}

interface OutputWriter {
  write(req: OutputRequest, format: OutputFormat, shared: WriterShared): Promise<Written>;
  /** It may move the tree away (no writer can read it after): such a writer runs after every other. */
  takesTree: boolean;
}

const tarWriter = (compression: Compression): OutputWriter => ({
  write: async (req, format, shared) => writeTar(req, format, compression, await shared.xattrs()),
  takesTree: false,
});

/** Every output format and its writer. */
const OUTPUT_WRITERS: Record<OutputFormat, OutputWriter> = {
  directory: { write: (req) => writeDirectory(req), takesTree: true },
  tar: tarWriter('none'),
  'tar.gz': tarWriter('gz'),
  'tar.xz': tarWriter('xz'),
  'tar.zst': tarWriter('zst'),
};

export function outputPath(directory: string, name: string, format: string): string {
  return outputFile(directory, format === 'directory' ? name : `${name}.${format}`);
}

/** The order the writers run in: those that take the tree last, the rest as asked. */
export function writerOrder(formats: readonly OutputFormat[]): OutputFormat[] {
  const unique = [...new Set(formats)];
  const takers = unique.filter((f) => OUTPUT_WRITERS[f].takesTree);
  if (takers.length > 1) throw new Error(`outputs ${takers.join(' and ')} both take the tree away`);
  return [...unique.filter((f) => !OUTPUT_WRITERS[f].takesTree), ...takers];
}

/**
 * Writes every output under its temporary name first and renames them all at
 * the end: a stopped build leaves none of its outputs, not some of them.
 */
export async function writeOutputs(req: OutputRequest): Promise<string[]> {
  await mkdir(req.directory, { recursive: true });
  const ready: Written[] = [];
  let xattrs: ReturnType<WriterShared['xattrs']> | undefined;
  const shared: WriterShared = { xattrs: () => (xattrs ??= readXattrs(req.root)) };
  for (const format of writerOrder(req.formats)) ready.push(await OUTPUT_WRITERS[format].write(req, format, shared));
  const outputs = ready.map((o) => o.final);
  for (const record of (await req.describe?.([...ready])) ?? []) {
    const tmp = temporaryName(req, record.final);
    await writeFile(tmp, record.content, { mode: 0o644 });
    ready.push({ tmp, final: record.final, format: 'record' });
  }
  for (const output of ready) await commit(req, output);
  return outputs;
}

export interface Written {
  format: string;
  /** Where it is now, and the name it gets when every output is ready. */
  tmp: string;
  final: string;
}

function temporaryName(req: OutputRequest, final: string): string {
  const tmp = join(req.directory, `.${final.slice(req.directory.length + 1)}.kiln-tmp-${process.pid}`);
  req.temporaries.add(tmp);
  return tmp;
}

/** Puts a finished output in place; an existing directory output is replaced whole. */
async function commit(req: OutputRequest, { tmp, final }: Written): Promise<void> {
  const old = await stat(final).then(
    (st) => (st.isDirectory() ? `${final}.kiln-old-${process.pid}` : undefined),
    () => undefined,
  );
  if (old) {
    req.temporaries.add(old);
    await rename(final, old);
  }
  await rename(tmp, final);
  req.temporaries.delete(tmp);
  if (old) {
    await rm(old, { recursive: true, force: true });
    req.temporaries.delete(old);
  }
}

async function writeTar(req: OutputRequest, format: string, compression: Compression, xattrs: Awaited<ReturnType<typeof readXattrs>>): Promise<Written> {
  const final = outputPath(req.directory, req.name, format);
  const tmp = temporaryName(req, final);
  const file = createWriteStream(tmp, { mode: 0o644 });
  const tarStream = new PassThrough({ highWaterMark: 1 << 20 });
  const sink = compression === 'none' ? pipeline(tarStream, file) : pipeline(tarStream, compress(compression), file);
  await Promise.all([
    writeTreeAsTar(req.root, tarStream, { mtimeClamp: req.sourceDateEpoch, xattrs }).then(() => tarStream.end()),
    sink,
  ]);
  return { tmp, final, format };
}

async function writeDirectory(req: OutputRequest): Promise<Written> {
  const final = outputPath(req.directory, req.name, 'directory');
  const tmp = temporaryName(req, final);
  await rm(tmp, { recursive: true, force: true });
  if (req.rootOnTmpfs) await run('cp', ['-a', '--reflink=auto', req.root, tmp]);
  else await rename(req.root, tmp);
  return { tmp, final, format: 'directory' };
}

export { buildManifest, fileDigest, manifestPath, outputsUpToDate, sbomPath, type Manifest, type ManifestOutput } from './manifest.ts';
export { buildSbom, licenseExpression } from './sbom.ts';
