/**
 * Writing the outputs of a build. Each writer writes under a temporary name
 * beside its final one; the records describing them (manifest, SBOM) are
 * made once they are complete; then all are renamed together, so a stopped
 * build leaves none of its outputs, not some of them. An output made only
 * to make another one from is removed at the end.
 */
import { renameSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readXattrs, type XattrMap } from '../archive/index.ts';
import { writerOrder } from './order.ts';
import { outputFile } from './paths.ts';
import { OUTPUTS, type OutputFormat } from './registry.ts';
import type { Machine } from '../catalog/machines.ts';
import type { Config } from '../config/index.ts';
import type { Emit } from '../util/events.ts';
import type { OutputDetails, OutputRegistry, TreeFacts } from './writer.ts';

export interface OutputRequest<F extends string = OutputFormat> {
  root: string;
  formats: readonly F[];
  directory: string;
  name: string;
  sourceDateEpoch: number;
  /** The root lives on a tmpfs that vanishes: a directory output is copied, not moved. */
  rootOnTmpfs: boolean;
  config: Config;
  /** The image directory (relative paths in the configuration). */
  imageDir: string;
  machine: Machine;
  /** The distribution's spelling of the architecture. */
  architecture: string;
  seed: string;
  emit: Emit;
  /** Registry of temporaries to remove if the build is stopped. */
  temporaries: Set<string>;
  /**
   * The records written beside the outputs (manifest, SBOM), made from the
   * complete outputs and put in place with them. The tree may be gone by
   * then (a directory output takes it): what they need from it is read before.
   */
  records?(written: Written[]): Promise<OutputRecord[]>;
}

/** An output under its temporary name, complete. */
export interface Written {
  format: string;
  /** Where it is now, and the name it gets when every output is ready. */
  tmp: string;
  final: string;
  /** What its writer says about it for the manifest. */
  details?: OutputDetails;
}

/** A file about the outputs (not an output): its final path and content. */
export interface OutputRecord {
  final: string;
  content: string;
}

/** The final path of `format`'s output for the base name `name`. */
export function outputPath(directory: string, name: string, format: string, registry: OutputRegistry = OUTPUTS): string {
  if (!Object.hasOwn(registry, format)) throw new Error(`no writer for output ${format}`);
  return outputFile(directory, registry[format]!.fileName(name));
}

/** Writes the outputs asked for (and those they are made from) and their records; returns the outputs' final paths. */
export function writeOutputs(req: OutputRequest): Promise<string[]>;
export function writeOutputs<F extends string>(req: OutputRequest<F>, registry: OutputRegistry<F>): Promise<string[]>;
export async function writeOutputs(req: OutputRequest<string>, registry: OutputRegistry = OUTPUTS): Promise<string[]> {
  await mkdir(req.directory, { recursive: true });
  let xattrs: Promise<XattrMap> | undefined;
  const tree: TreeFacts = { xattrs: () => (xattrs ??= readXattrs(req.root)) };
  const made: Record<string, string> = {};
  const kept: Written[] = [];
  const intermediates: string[] = [];
  for (const format of writerOrder(req.formats, registry)) {
    const final = outputPath(req.directory, req.name, format, registry);
    const tmp = temporaryName(req, final);
    await rm(tmp, { recursive: true, force: true });
    const writer = registry[format]!;
    const details = await writer.write({
      root: req.root,
      tmp,
      previous: final,
      made: pick(made, writer.from),
      sourceDateEpoch: req.sourceDateEpoch,
      rootOnTmpfs: req.rootOnTmpfs,
      tree,
      config: req.config,
      imageDir: req.imageDir,
      machine: req.machine,
      architecture: req.architecture,
      seed: req.seed,
      emit: req.emit,
    });
    made[format] = tmp;
    if (req.formats.includes(format)) kept.push({ format, tmp, final, ...(details ? { details } : {}) });
    else intermediates.push(tmp);
  }
  const records: Written[] = [];
  for (const record of (await req.records?.([...kept])) ?? []) {
    const tmp = temporaryName(req, record.final);
    await writeFile(tmp, record.content, { mode: 0o644 });
    records.push({ tmp, final: record.final, format: 'record' });
  }
  const replaced = publish(req, [...kept, ...records]);
  for (const tmp of [...replaced, ...intermediates]) {
    await rm(tmp, { recursive: true, force: true });
    req.temporaries.delete(tmp);
  }
  return kept.map((o) => o.final);
}

function pick(made: Record<string, string>, from: readonly string[]): Record<string, string> {
  return Object.fromEntries(from.map((f) => [f, made[f]!]));
}

function temporaryName(req: OutputRequest<string>, final: string): string {
  const tmp = join(req.directory, `.${final.slice(req.directory.length + 1)}.kiln-tmp-${process.pid}`);
  req.temporaries.add(tmp);
  return tmp;
}

/**
 * Puts every finished output and its records in place, replacing an
 * existing directory output whole; returns the replaced directories, to be
 * removed (they stay temporaries until then). Synchronous on purpose: a
 * stopped build (the worker's pipe closing) is handled between events, so
 * it finds either none of the outputs published or all of them with the
 * manifest, never a part of the set.
 */
function publish(req: OutputRequest<string>, outputs: Written[]): string[] {
  const replaced: string[] = [];
  for (const { tmp, final } of outputs) {
    if (statSync(final, { throwIfNoEntry: false })?.isDirectory()) {
      const old = `${final}.kiln-old-${process.pid}`;
      req.temporaries.add(old);
      renameSync(final, old);
      replaced.push(old);
    }
    renameSync(tmp, final);
    req.temporaries.delete(tmp);
  }
  return replaced;
}
