/**
 * A bootable copy of the fake Arch repository (fake-arch.ts) for x86_64:
 * its core also holds the packages of fake-arch-boot-specs.ts, made from
 * Debian bookworm's kernel (the version linux-image-amd64 depends on),
 * systemd-boot-efi and cpio, signed with the fixture's packager key and
 * indexed with repo-add.
 *
 * The kernel .deb is large (70 MB): when the test user's kiln download
 * cache already holds it (a Debian build fetched it), it is copied from
 * there rather than downloaded again. Only the kernel's vmlinuz and the
 * few modules the boot needs are unpacked.
 */
import { copyFile, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { fetchPackagesIndex, fetchRelease } from '../../src/formats/deb/archive.ts';
import type { DebPackage } from '../../src/formats/deb/packages.ts';
import { compareVersions } from '../../src/formats/deb/version.ts';
import { BlobStore, downloadToStore } from '../../src/repo/index.ts';
import { silent } from '../../src/util/events.ts';
import { run } from '../../src/util/run.ts';
import { fakeArchBootSpecs, KERNEL_MODULES, type KernelDeb } from './fake-arch-boot-specs.ts';
import { buildPackage, repoAdd } from './fake-arch-package.ts';
import type { FakeArchRepos } from './fake-arch-types.ts';
import { defaultFixtureCache, fileSha256 } from './fixture-cache.ts';
import { readSecretKey } from './fixture-keys.ts';
import { TEST_USER } from './kiln.ts';

const DEBIAN_RELEASE = 'bookworm';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const KERNEL_META = 'linux-image-amd64';

export interface FakeArchBootRepo {
  /** Serve it: mirror = `${url}/$repo/os/$arch`. */
  root: string;
  kernel: KernelDeb;
  /** Whether the kernel .deb came from the test user's kiln cache (else from the mirror). */
  kernelFromKilnCache: boolean;
}

/** The kiln download caches that may hold the kernel .deb: the test user's, and the caller's. */
function kilnDownloadCaches(): string[] {
  const homes = [join('/home', TEST_USER), homedir()];
  return [...new Set(homes.map((h) => join(h, '.cache/kiln/downloads')))].filter((d) => existsSync(d));
}

/** The newest `name` in the index. */
function newest(index: readonly DebPackage[], name: string): DebPackage {
  const best = index.filter((p) => p.name === name).sort((a, b) => compareVersions(b.version, a.version))[0];
  if (!best) throw new Error(`${name} is not in Debian ${DEBIAN_RELEASE} amd64`);
  return best;
}

/** The .debs, in the fixture's blob store: copied from a kiln cache that has them, else fetched from the host's Debian mirror. */
async function fetchDebs(cacheDir: string): Promise<{ kernel: KernelDeb; debs: Map<string, { path: string; version: string }>; kernelFromKilnCache: boolean }> {
  const mirror = hostMirrorFor('debian');
  if (!mirror) throw new Error('no Debian mirror on this host');
  const store = new BlobStore(cacheDir);
  const access = { store, emit: silent, keyring: [DEBIAN_KEYRING], warnings: [] };
  const release = await fetchRelease(access, mirror, DEBIAN_RELEASE);
  const index = await fetchPackagesIndex(access, mirror, DEBIAN_RELEASE, release, 'main/binary-amd64/Packages');
  const meta = newest(index, KERNEL_META);
  const kernelName = meta.depends.flat().find((r) => r.name.startsWith('linux-image-'))?.name;
  if (!kernelName) throw new Error(`${KERNEL_META} ${meta.version} depends on no linux-image-* package`);
  const wanted = [newest(index, kernelName), newest(index, 'systemd-boot-efi'), newest(index, 'cpio')];
  let kernelFromKilnCache = false;
  const debs = new Map<string, { path: string; version: string }>();
  for (const p of wanted) {
    if (!(await store.has(p.sha256))) {
      for (const cache of kilnDownloadCaches()) {
        const other = new BlobStore(cache);
        if (!(await other.has(p.sha256))) continue;
        const path = store.pathFor(p.sha256);
        await mkdir(dirname(path), { recursive: true });
        await copyFile(other.pathFor(p.sha256), `${path}.tmp`);
        if ((await fileSha256(`${path}.tmp`)) !== p.sha256) {
          await rm(`${path}.tmp`);
          continue;
        }
        await rename(`${path}.tmp`, path);
        if (p.name === kernelName) kernelFromKilnCache = true;
        break;
      }
    }
    const blob = await downloadToStore(store, { urls: [`${mirror}/${p.filename}`], sha256: p.sha256, size: p.size, name: p.name }, {});
    debs.set(p.name, { path: blob.path, version: p.version });
  }
  const kernelDeb = wanted[0]!;
  return { kernel: { name: kernelName, version: kernelDeb.version, release: kernelName.replace(/^linux-image-/, '') }, debs, kernelFromKilnCache };
}

/**
 * The kernel .deb unpacked as Arch lays it out: /usr/lib/modules/VER/vmlinuz
 * and the modules of KERNEL_MODULES (with modules.builtin and an
 * modules.order of what is there), nothing in /boot.
 */
async function kernelTree(deb: string, kernel: KernelDeb, dir: string): Promise<string> {
  const raw = join(dir, 'raw');
  const tree = join(dir, 'tree');
  await mkdir(raw, { recursive: true });
  const modules = `lib/modules/${kernel.release}`;
  const members = [`./boot/vmlinuz-${kernel.release}`, `./${modules}/modules.builtin`, `./${modules}/modules.builtin.modinfo`, `./${modules}/modules.order`, ...KERNEL_MODULES.map((m) => `./${modules}/kernel/*/${m}.ko`)];
  await run('sh', ['-c', 'deb=$1 raw=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$raw" --wildcards "$@"', 'sh', deb, raw, ...members]);
  const target = join(tree, 'usr', modules);
  await mkdir(dirname(target), { recursive: true });
  await rename(join(raw, modules), target);
  await rename(join(raw, 'boot', `vmlinuz-${kernel.release}`), join(target, 'vmlinuz'));
  const order = (await readFile(join(target, 'modules.order'), 'utf8')).split('\n').filter((l) => KERNEL_MODULES.some((m) => l.endsWith(`/${m}.ko`)));
  if (order.length !== KERNEL_MODULES.length) throw new Error(`${kernel.name}: modules.order has ${order.length} of the ${KERNEL_MODULES.length} modules ${KERNEL_MODULES.join(' ')}`);
  await writeFile(join(target, 'modules.order'), `${order.join('\n')}\n`);
  await rm(raw, { recursive: true, force: true });
  return tree;
}

/** Makes `${repos.root}-boot`: the Arch layout with the boot packages added to x86_64's core. */
export async function makeFakeArchBootRepo(repos: FakeArchRepos, cacheDir = defaultFixtureCache()): Promise<FakeArchBootRepo> {
  const { kernel, debs, kernelFromKilnCache } = await fetchDebs(cacheDir);
  const root = `${repos.root}-boot`;
  await rm(root, { recursive: true, force: true });
  await cp(repos.root, root, { recursive: true, verbatimSymlinks: true });
  const work = await mkdtemp(join(dirname(repos.root), 'boot-work-'));
  const trees = new Map<string, Promise<string>>();
  const debTree = (name: string): Promise<string> => {
    if (!trees.has(name)) {
      const deb = debs.get(name);
      if (!deb) return Promise.reject(new Error(`no .deb ${name}`));
      const dir = join(work, 'debs', name);
      trees.set(name, name === kernel.name ? kernelTree(deb.path, kernel, dir) : mkdir(dir, { recursive: true }).then(() => run('dpkg-deb', ['-x', deb.path, dir])).then(() => dir));
    }
    return trees.get(name)!;
  };
  const key = { secret: await readSecretKey(dirname(repos.keyring), 'packager'), armored: '', fingerprint: repos.keyFingerprint };
  const core = join(root, 'core', 'os', 'x86_64');
  const out = join(work, 'out');
  await mkdir(out, { recursive: true });
  const built = await Promise.all(fakeArchBootSpecs(kernel, (n) => debs.get(n)?.version ?? '0').map((spec) => buildPackage(spec, join(work, 'stage'), out, debTree, key)));
  for (const pkg of built) for (const suffix of ['', '.sig']) await copyFile(join(out, pkg.filename + suffix), join(core, pkg.filename + suffix));
  await repoAdd(core, 'core', built.map((p) => p.filename));
  await rm(work, { recursive: true, force: true });
  return { root, kernel, kernelFromKilnCache };
}
