/**
 * The one place an output's file name becomes a path. output.name is
 * checked as a file name with the rest of the configuration; this refuses
 * anything else again, so that no name can put an output, a manifest or a
 * temporary beside it outside the output directory.
 */
import { basename, join } from 'node:path';
import { UserError } from '../util/errors.ts';

export function outputFile(directory: string, file: string): string {
  const full = join(directory, file);
  if (file.includes('\0') || basename(full) !== file) {
    throw new UserError(`output.name: ${JSON.stringify(file)} would be written outside the output directory ${directory}`, 'output.name is a file name, such as image');
  }
  return full;
}
