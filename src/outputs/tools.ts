/**
 * The host tools the chosen outputs need, checked before any stage runs (and
 * by --dry-run): a missing one is the user's to install, named with its
 * package, rather than a failure after the whole tree is built.
 */
import { findOnPath } from '../util/path.ts';
import { UserError } from '../util/errors.ts';
import { writerOrder } from './order.ts';
import { OUTPUTS, type OutputFormat } from './registry.ts';
import type { HostTool, OutputRegistry } from './writer.ts';

/** Where a command is on this host, or undefined (findOnPath; tests pass their own). */
export type FindTool = (command: string) => string | undefined;

export interface OutputTools<F extends string = string> {
  format: F;
  /** Not asked for: written only to make another output from it. */
  intermediate: boolean;
  tools: { tool: HostTool; path: string | undefined }[];
}

/** Each writer that runs for `formats`, in the order they run, with its tools and where they are. */
export function outputTools(formats: readonly OutputFormat[], registry?: OutputRegistry<OutputFormat>, find?: FindTool): OutputTools<OutputFormat>[];
export function outputTools<F extends string>(formats: readonly F[], registry: OutputRegistry<F>, find?: FindTool): OutputTools<F>[];
export function outputTools(formats: readonly string[], registry: OutputRegistry = OUTPUTS, find: FindTool = findOnPath): OutputTools[] {
  return writerOrder(formats, registry).map((format) => ({
    format,
    intermediate: !formats.includes(format),
    tools: registry[format]!.tools.map((tool) => ({ tool, path: find(tool.command) })),
  }));
}

/** Throws a UserError (exit 2) naming the first missing tool, the output that needs it and its Debian package. */
export function checkOutputTools(formats: readonly OutputFormat[], registry?: OutputRegistry<OutputFormat>, find?: FindTool): void;
export function checkOutputTools<F extends string>(formats: readonly F[], registry: OutputRegistry<F>, find?: FindTool): void;
export function checkOutputTools(formats: readonly string[], registry: OutputRegistry = OUTPUTS, find: FindTool = findOnPath): void {
  for (const { format, tools } of outputTools(formats, registry, find)) {
    const missing = tools.find((t) => t.path === undefined);
    if (!missing) continue;
    const [debian, fedora, arch] = missing.tool.packages;
    throw new UserError(
      `the ${format} output needs ${missing.tool.command}, which is not installed`,
      `install the package ${debian} (Debian/Ubuntu; Fedora ${fedora}, Arch ${arch}), or choose other output.format values`,
    );
  }
}
