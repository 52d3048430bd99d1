/**
 * Host tools taken from a Debian archive when the host lacks them (e.g. the
 * static QEMU user emulators from qemu-user-static): the package is fetched
 * and verified like any other, and only the wanted files are kept, under
 * kiln's tools cache, written atomically.
 */
import { access as exists, chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decompress, readDeb, readTar } from '../../archive/index.ts';
import { downloadToStore } from '../../repo/index.ts';
import { UserError } from '../../util/errors.ts';
import { compareVersions } from './version.ts';
import { fetchPackagesIndex, fetchRelease, type ArchiveAccess } from './archive.ts';

export interface ToolRequest {
  mirror: string;
  release: string;
  /** Debian architecture of the host (the tool must run there). */
  architecture: string;
  package: string;
  /** Paths inside the package, e.g. usr/bin/qemu-aarch64-static. */
  paths: string[];
  toolsDir: string;
}

/** Returns the extracted files' paths (same order as `paths`), fetching the package if needed. */
export async function fetchDebianTool(access: ArchiveAccess, req: ToolRequest): Promise<string[]> {
  const release = await fetchRelease(access, req.mirror, req.release);
  const universe = await fetchPackagesIndex(access, req.mirror, req.release, release, `main/binary-${req.architecture}/Packages`);
  const candidates = universe.filter((p) => p.name === req.package && p.architecture === req.architecture);
  const best = candidates.sort((a, b) => compareVersions(b.version, a.version))[0];
  if (!best) throw new UserError(`${req.package} is not in ${req.mirror} ${req.release} for ${req.architecture}`, `install ${req.package} on the host instead`);
  const dir = join(req.toolsDir, `${best.name}_${best.version.replace(/:/g, '%3a')}_${best.architecture}`);
  const targets = req.paths.map((p) => join(dir, p.replace(/^.*\//, '')));
  if ((await Promise.all(targets.map((t) => exists(t).then(() => true, () => false)))).every(Boolean)) return targets;

  const blob = await downloadToStore(access.store, { urls: [`${req.mirror}/${best.filename}`], sha256: best.sha256, size: best.size, name: best.name }, { ...access.limits, emit: access.emit, signal: access.signal });
  const deb = readDeb(await readFile(blob.path), best.name);
  const wanted = new Set(req.paths.map((p) => p.replace(/^\.?\//, '')));
  await mkdir(dir, { recursive: true });
  const found = new Set<string>();
  for await (const { entry, body } of readTar(decompress(deb.data.data, deb.data.kind))) {
    if (entry.type !== 'file' || !wanted.has(entry.path)) continue;
    const final = join(dir, entry.path.replace(/^.*\//, ''));
    const tmp = `${final}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, await body.buffer());
      await chmod(tmp, 0o755);
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
    found.add(entry.path);
  }
  const missing = [...wanted].filter((p) => !found.has(p));
  if (missing.length) throw new UserError(`${best.name} ${best.version} has no ${missing.join(', ')}`, `install ${req.package} on the host instead`);
  return targets;
}
