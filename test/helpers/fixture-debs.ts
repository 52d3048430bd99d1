/**
 * Real Debian bookworm binaries for fixture repositories of other formats:
 * the newest .deb of each name (and of a Debian set's closure) from the
 * host's Debian mirror, through kiln's own fetcher (InRelease checked
 * against debian-archive-keyring), kept in the fixture cache's blob store
 * with a manifest, so a warm run needs no mirror. Then staged as a
 * merged-/usr tree without documentation, as Arch and Alpine ship them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, rename, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { fetchPackagesIndex, fetchRelease } from '../../src/formats/deb/archive.ts';
import { compareVersions } from '../../src/formats/deb/version.ts';
import { BlobStore, downloadToStore } from '../../src/repo/index.ts';
import { silent } from '../../src/util/events.ts';
import { debianSetPackages, type DebianSetPackage, type FakeArchDebianSet } from './fake-arch-debian-set.ts';
import { writeAtomic } from './fixture-cache.ts';
import { mkdirs } from './fixture-tree.ts';

const DEBIAN_RELEASE = 'bookworm';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Debian's split-/usr directories and where merged-/usr keeps them. */
const USR_MERGE: [string, string][] = [['/lib64', '/usr/lib'], ['/lib', '/usr/lib'], ['/bin', '/usr/bin'], ['/sbin', '/usr/bin'], ['/usr/sbin', '/usr/bin']];
const DROPPED = ['/usr/share/doc', '/usr/share/man', '/usr/share/info', '/usr/share/locale', '/usr/share/lintian', '/usr/share/bug', '/usr/share/doc-base', '/usr/share/menu'];

export interface FixtureDeb {
  name: string;
  version: string;
  sha256: string;
  /** The .deb in the blob store. */
  path: string;
  /** Set for a package of the Debian set (one package of its own in the fixture). */
  set?: DebianSetPackage;
}

export interface FixtureDebsRequest {
  cacheDir: string;
  /** Debian's name of the architecture: amd64, arm64, ... */
  debianArch: string;
  /** Debian package names, each taken at its newest version. */
  names: readonly string[];
  debianSet?: FakeArchDebianSet;
}

/** Where the list of .debs for a request is kept; its name carries a hash of the names, and of the set's roots and how it is resolved. */
function debsManifest(req: FixtureDebsRequest): string {
  const id = createHash('sha256').update(req.names.join(' '));
  if (!req.debianSet) return join(req.cacheDir, `debs-${req.debianArch}-${id.digest('hex').slice(0, 12)}.json`);
  const resolver = readFileSync(fileURLToPath(new URL('./fake-arch-debian-set.ts', import.meta.url)));
  id.update('\0').update(resolver).update(req.debianSet.roots.join(' '));
  return join(req.cacheDir, `debs-${req.debianArch}-${req.debianSet.name}-${id.digest('hex').slice(0, 12)}.json`);
}

/** The .debs are in the cache from an earlier run (no mirror needed). */
export function fixtureDebsCached(req: FixtureDebsRequest): boolean {
  return existsSync(debsManifest(req));
}

/** The .debs of a request: from the manifest of a previous run when all blobs are there, else fetched from the host's Debian mirror. */
export async function fetchFixtureDebs(req: FixtureDebsRequest): Promise<FixtureDeb[]> {
  const store = new BlobStore(req.cacheDir);
  const manifest = debsManifest(req);
  try {
    const debs = JSON.parse(await readFile(manifest, 'utf8')) as FixtureDeb[];
    if ((await Promise.all(debs.map((d) => store.has(d.sha256)))).every(Boolean)) return debs.map((d) => ({ ...d, path: store.pathFor(d.sha256) }));
  } catch {
    /* first run */
  }
  const mirror = hostMirrorFor('debian');
  if (!mirror) throw new Error('no Debian mirror on this host (see fakeArchSkipReason)');
  const access = { store, emit: silent, keyring: [DEBIAN_KEYRING], warnings: [] };
  const release = await fetchRelease(access, mirror, DEBIAN_RELEASE);
  const index = await fetchPackagesIndex(access, mirror, DEBIAN_RELEASE, release, `main/binary-${req.debianArch}/Packages`);
  const named = await Promise.all(
    req.names.map(async (name) => {
      const best = index.filter((p) => p.name === name).sort((a, b) => compareVersions(b.version, a.version))[0];
      if (!best) throw new Error(`${name} is not in ${mirror} ${DEBIAN_RELEASE} ${req.debianArch}`);
      const blob = await downloadToStore(store, { urls: [`${mirror}/${best.filename}`], sha256: best.sha256, size: best.size, name }, {});
      return { name, version: best.version, sha256: blob.sha256, path: blob.path };
    }),
  );
  const extra = await Promise.all(
    (req.debianSet ? debianSetPackages(index, req.debianSet.roots) : []).map(async (set) => {
      const blob = await downloadToStore(store, { urls: [`${mirror}/${set.filename}`], sha256: set.sha256, size: set.size, name: set.name }, {});
      return { name: set.name, version: set.version, sha256: blob.sha256, path: blob.path, set };
    }),
  );
  const debs: FixtureDeb[] = [...named, ...extra];
  await writeAtomic(manifest, JSON.stringify(debs, null, 1));
  return debs;
}

function usrMerged(path: string): string {
  for (const [from, to] of USR_MERGE) if (path === from || path.startsWith(`${from}/`)) return to + path.slice(from.length);
  return path;
}

/** Moves an extracted .deb tree into `stage`, merged-/usr, without docs; symlinks become relative to their new place. */
export async function stageDeb(tree: string, stage: string, rel = '/'): Promise<void> {
  for (const entry of await readdir(join(tree, rel), { withFileTypes: true })) {
    const path = posix.join(rel, entry.name);
    const dest = usrMerged(path);
    if (DROPPED.some((d) => dest === d || dest.startsWith(`${d}/`))) continue;
    if (entry.isDirectory()) {
      await mkdirs(stage, dest, (await lstat(join(tree, path))).mode & 0o7777);
      await stageDeb(tree, stage, path);
    } else if (entry.isSymbolicLink()) {
      const target = await readlink(join(tree, path));
      const absolute = usrMerged(posix.resolve(posix.dirname(path), target));
      // /sbin/ip -> /bin/ip: both are usr/bin/ip once merged; the file wins.
      if (absolute === dest || existsSync(join(stage, dest))) continue;
      await symlink(posix.relative(posix.dirname(dest), absolute) || '.', join(stage, dest));
    } else {
      await rename(join(tree, path), join(stage, dest));
    }
  }
}
