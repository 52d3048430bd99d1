/**
 * A signed Debian archive for hostile-package tests: the real bookworm amd64
 * `main` index (its Packages.xz bytes as the host's mirror publishes them)
 * beside a `hostile` component of crafted packages, under a Release
 * clearsigned by a throwaway key. Served on 127.0.0.1: the crafted pool is
 * local, and requests for the real pool are redirected to the host's
 * mirror, so kiln verifies every real package against the real index's
 * SHA256 as usual (and finds most of them in its download cache).
 *
 * Crafted packages are assembled with python3's tarfile (which writes any
 * name, link or type it is given, as an attacker's tools would) and `ar`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { fetchRelease } from '../../src/formats/deb/archive.ts';
import { pickIndex } from '../../src/formats/deb/release.ts';
import { BlobStore, downloadToStore } from '../../src/repo/index.ts';
import { silent } from '../../src/util/events.ts';
import { sha256 } from './fixtures.ts';

const CRAFT_TAR = fileURLToPath(new URL('./craft-tar.py', import.meta.url));
const RELEASE = 'bookworm';
const ARCH = 'amd64';
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface TarSpecEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo';
  content?: string;
  target?: string;
  mode?: number;
}

export interface HostilePackage {
  /** The name the signed index gives it. */
  name: string;
  version?: string;
  /** The control file's fields, where they differ from the index's (e.g. a crafted Package:). */
  control?: Record<string, string>;
  /** Maintainer scripts and other control members by name. */
  scripts?: Record<string, string>;
  depends?: string;
  data: TarSpecEntry[];
}

export interface HostileArchive {
  /** Mirror URL for kiln (distribution.mirror). */
  url: string;
  /** Armored public key that signs the Release. */
  keyring: string;
  /** Requests the server answered, by path. */
  requests: string[];
  close(): Promise<void>;
}

function craftTar(spec: TarSpecEntry[], out: string): void {
  execFileSync('python3', [CRAFT_TAR, out], { input: JSON.stringify(spec) });
}

function controlText(p: HostilePackage): string {
  const fields: Record<string, string> = {
    Package: p.name,
    Version: p.version ?? '1.0',
    Architecture: 'all',
    Maintainer: 'kiln tests <tests@kiln.invalid>',
    ...(p.depends ? { Depends: p.depends } : {}),
    Description: 'hostile package for kiln tests',
    ...p.control,
  };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}\n`).join('');
}

/** A .deb as dpkg expects it: ar of debian-binary, control.tar.xz, data.tar.xz. */
export function craftDeb(dir: string, p: HostilePackage): Buffer {
  const work = mkdtempSync(join(dir, `deb-${p.name}-`));
  writeFileSync(join(work, 'debian-binary'), '2.0\n');
  const control: TarSpecEntry[] = [
    { name: './', type: 'dir' },
    { name: './control', type: 'file', content: controlText(p) },
    ...Object.entries(p.scripts ?? {}).map(([name, content]): TarSpecEntry => ({ name: `./${name}`, type: 'file', content, mode: 0o755 })),
  ];
  craftTar(control, join(work, 'control.tar'));
  craftTar(p.data, join(work, 'data.tar'));
  execFileSync('xz', ['-0', join(work, 'control.tar'), join(work, 'data.tar')]);
  const out = join(work, 'out.deb');
  execFileSync('ar', ['rc', out, 'debian-binary', 'control.tar.xz', 'data.tar.xz'], { cwd: work });
  const deb = readFileSync(out);
  rmSync(work, { recursive: true, force: true });
  return deb;
}

/** The real Release and main Packages.xz, cached across runs in a blob store. */
async function realMain(cacheDir: string): Promise<{ mirror: string; date: number; packagesXz: Buffer }> {
  const mirror = hostMirrorFor('debian');
  if (!mirror) throw new Error('the host has no Debian mirror');
  const store = new BlobStore(cacheDir);
  const access = { store, emit: silent, keyring: [DEBIAN_KEYRING], warnings: [] };
  const release = await fetchRelease(access, mirror, RELEASE);
  const picked = pickIndex(release, `main/binary-${ARCH}/Packages`);
  if (picked?.compression !== 'xz') throw new Error('the mirror publishes no Packages.xz');
  const blob = await downloadToStore(store, { urls: [`${mirror}/dists/${RELEASE}/${picked.file.path}`], sha256: picked.file.sha256, size: picked.file.size, name: 'Packages.xz' }, {});
  return { mirror, date: release.date, packagesXz: readFileSync(blob.path) };
}

export async function startHostileArchive(dir: string, packages: HostilePackage[]): Promise<HostileArchive> {
  const { mirror, date, packagesXz } = await realMain(join(tmpdir(), 'kiln-hostile-cache'));
  const root = join(dir, 'archive');
  const files = new Map<string, Buffer>();
  let index = '';
  for (const p of packages) {
    const deb = craftDeb(dir, p);
    const filename = `pool/hostile/${p.name}_${p.version ?? '1.0'}_all.deb`;
    files.set(`/${filename}`, deb);
    index +=
      `Package: ${p.name}\nVersion: ${p.version ?? '1.0'}\nArchitecture: all\nMaintainer: kiln tests <tests@kiln.invalid>\n` +
      (p.depends ? `Depends: ${p.depends}\n` : '') +
      `Installed-Size: 1\nPriority: optional\nFilename: ${filename}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\nDescription: hostile package for kiln tests\n\n`;
  }
  const indexFiles: [string, Buffer][] = [
    [`main/binary-${ARCH}/Packages.xz`, packagesXz],
    [`hostile/binary-${ARCH}/Packages`, Buffer.from(index)],
  ];
  const release =
    `Origin: kiln-hostile\nLabel: kiln-hostile\nSuite: ${RELEASE}\nCodename: ${RELEASE}\n` +
    `Date: ${new Date(date * 1000).toUTCString()}\nArchitectures: ${ARCH}\nComponents: main hostile\nSHA256:\n` +
    indexFiles.map(([path, data]) => ` ${sha256(data)} ${data.length} ${path}\n`).join('');
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'kiln hostile archive' }], format: 'armored' });
  const signed = await openpgp.sign({
    message: await openpgp.createCleartextMessage({ text: release }),
    signingKeys: await openpgp.readPrivateKey({ armoredKey: privateKey }),
  });
  files.set(`/dists/${RELEASE}/InRelease`, Buffer.from(signed));
  for (const [path, data] of indexFiles) files.set(`/dists/${RELEASE}/${path}`, data);
  mkdirSync(root, { recursive: true });
  const keyring = join(dir, 'hostile-archive-key.asc');
  writeFileSync(keyring, publicKey, { mode: 0o644 });

  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const body = files.get(path);
    if (body) {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    } else if (path.startsWith('/pool/main/')) {
      res.writeHead(302, { location: `${mirror}${path}` });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    keyring,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
