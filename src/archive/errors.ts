import { BuildError } from '../util/errors.ts';

/** A corrupt, truncated, unsupported or unsafe archive. */
export class ArchiveError extends BuildError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, hint, options);
    this.name = 'ArchiveError';
  }
}

/** A host tool kiln needs (xz, zstd, getfattr, ...) is not installed. */
export function missingTool(tool: string, pkg: string, cause?: unknown): BuildError {
  return new BuildError(`${tool} is not installed`, `install the "${pkg}" package`, { cause });
}
