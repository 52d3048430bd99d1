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
import { outputFile } from './paths.ts';

export interface OutputRequest {
  root: string;
  formats: readonly string[];
  directory: string;
  name: string;
  sourceDateEpoch: number;
  /** The root lives on a tmpfs that vanishes: a directory output is copied, not moved. */
  rootOnTmpfs: boolean;
  /** Registry of temporaries to remove if the build is stopped. */
  temporaries: Set<string>;
  /**
   * Files describing the outputs (manifest, SBOM), made once the outputs are
   * written and put in place with them.
   */
  describe?(written: Written[]): Promise<{ final: string; content: string }[]>;
}

const TAR_COMPRESSION: Record<string, Compression> = { tar: 'none', 'tar.gz': 'gz', 'tar.xz': 'xz', 'tar.zst': 'zst' };

export function outputPath(directory: string, name: string, format: string): string {
  return outputFile(directory, format === 'directory' ? name : `${name}.${format}`);
}

/**
 * Writes every output under its temporary name first and renames them all at
 * the end: a stopped build leaves none of its outputs, not some of them.
 */
export async function writeOutputs(req: OutputRequest): Promise<string[]> {
  await mkdir(req.directory, { recursive: true });
  const ready: Written[] = [];
  const tars = req.formats.filter((f) => f in TAR_COMPRESSION);
  if (tars.length) {
    const xattrs = await readXattrs(req.root);
    for (const format of tars) ready.push(await writeTar(req, format, TAR_COMPRESSION[format] as Compression, xattrs));
  }
  if (req.formats.includes('directory')) ready.push(await writeDirectory(req));
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
