/**
 * Host tools taken from a Debian archive when the host lacks them (e.g. the
 * static QEMU user emulators from qemu-user-static): the package is fetched
 * and verified like any other, and only the wanted files are kept, under
 * kiln's tools cache, written atomically. Beside them, `SHA256SUMS.json`
 * records the package's sha256 (from the signed index) and each file's;
 * every use hashes the files again (a few MB: milliseconds) and takes them
 * out of the package afresh when anything differs. A copy taken earlier
 * that is intact is used without asking the archive again (the newest such
 * version): a build whose packages are all cached works offline, and a
 * foreign Alpine or Arch build does not read the host's whole Debian index
 * to find its busybox every time. Removing the tools cache takes the
 * archive's current version.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decompress, readDeb, readTar } from '../archive/index.ts';
import { compareVersions, fetchPackagesIndex, fetchRelease, type ArchiveAccess } from '../formats/deb/index.ts';
import { readVerified, writeJsonAtomic } from '../repo/index.ts';
import { UserError } from '../util/errors.ts';

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
  const cached = await takenEarlier(req);
  if (cached) return cached;
  const release = await fetchRelease(access, req.mirror, req.release);
  const universe = await fetchPackagesIndex(access, req.mirror, req.release, release, `main/binary-${req.architecture}/Packages`);
  const candidates = universe.filter((p) => p.name === req.package && p.architecture === req.architecture);
  const best = candidates.sort((a, b) => compareVersions(b.version, a.version))[0];
  if (!best) throw new UserError(`${req.package} is not in ${req.mirror} ${req.release} for ${req.architecture}`, `install ${req.package} on the host instead`);
  const dir = join(req.toolsDir, `${best.name}_${best.version.replace(/:/g, '%3a')}_${best.architecture}`);
  const targets = req.paths.map((p) => join(dir, p.replace(/^.*\//, '')));
  const check = await checkTools(dir, targets, best.sha256);
  if (check === 'good') return targets;
  if (check === 'changed') access.emit({ kind: 'log', level: 'warn', source: 'tools', message: `${dir}: the tools no longer match their recorded sha256; taking them out of ${best.name} ${best.version} again` });
  await rm(join(dir, SUMS), { force: true });

  const file = await readVerified(access.store, { urls: [`${req.mirror}/${best.filename}`], sha256: best.sha256, size: best.size, name: best.name }, { ...access.limits, emit: access.emit, signal: access.signal });
  const deb = readDeb(file, best.name);
  const wanted = new Set(req.paths.map((p) => p.replace(/^\.?\//, '')));
  await mkdir(dir, { recursive: true });
  const found = new Set<string>();
  const sums: Record<string, string> = {};
  for await (const { entry, body } of readTar(decompress(deb.data.data, deb.data.kind))) {
    if (entry.type !== 'file' || !wanted.has(entry.path)) continue;
    const final = join(dir, entry.path.replace(/^.*\//, ''));
    const tmp = `${final}.${process.pid}.tmp`;
    try {
      const data = await body.buffer();
      sums[basename(final)] = sha256(data);
      await writeFile(tmp, data);
      await chmod(tmp, 0o755);
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
    found.add(entry.path);
  }
  const missing = [...wanted].filter((p) => !found.has(p));
  if (missing.length) throw new UserError(`${best.name} ${best.version} has no ${missing.join(', ')}`, `install ${req.package} on the host instead`);
  await writeJsonAtomic(join(dir, SUMS), { package: best.sha256, files: sums } satisfies ToolSums);
  return targets;
}

const SUMS = 'SHA256SUMS.json';

interface ToolSums {
  /** sha256 of the package the files came from. */
  package: string;
  /** File name -> sha256. */
  files: Record<string, string>;
}

/** The files of the newest copy of the package already in the tools cache whose every file is as recorded, if any. */
async function takenEarlier(req: ToolRequest): Promise<string[] | undefined> {
  const prefix = `${req.package}_`;
  const suffix = `_${req.architecture}`;
  const copies = (await readdir(req.toolsDir).catch(() => [] as string[]))
    .filter((n) => n.startsWith(prefix) && n.endsWith(suffix) && n.length > prefix.length + suffix.length)
    .map((n) => ({ dir: join(req.toolsDir, n), version: n.slice(prefix.length, -suffix.length).replace(/%3a/g, ':') }))
    .sort((a, b) => compareVersions(b.version, a.version));
  for (const { dir } of copies) {
    const sums = await readFile(join(dir, SUMS), 'utf8').then((t) => JSON.parse(t) as ToolSums, () => undefined);
    const targets = req.paths.map((p) => join(dir, p.replace(/^.*\//, '')));
    if (sums && (await checkTools(dir, targets, sums.package)) === 'good') return targets;
  }
  return undefined;
}

/** `good`: every target is there with its recorded hash, from this package; `changed`: one differs; `missing`: not (all) extracted yet. */
async function checkTools(dir: string, targets: string[], packageSha256: string): Promise<'good' | 'changed' | 'missing'> {
  const sums = await readFile(join(dir, SUMS), 'utf8').then((t) => JSON.parse(t) as ToolSums, () => undefined);
  if (!sums || sums.package !== packageSha256) return 'missing';
  for (const target of targets) {
    const expected = sums.files[basename(target)];
    const data = await readFile(target).catch(() => undefined);
    if (!expected || !data) return 'missing';
    if (sha256(data) !== expected) return 'changed';
  }
  return 'good';
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
