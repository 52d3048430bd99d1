/**
 * A tiny Debian archive in the real formats, for tests of what kiln refuses:
 * a .deb built with dpkg-deb, a Packages.xz, a Release clearsigned with a
 * throwaway OpenPGP key. Served by test/helpers/mirror-server.ts on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { sha256 } from './fixtures.ts';

export interface FakeArchive {
  /** Directory to serve: dists/ and pool/ below it. */
  root: string;
  /** Armored public key file that signs the Release. */
  keyring: string;
  suite: string;
}

function buildDeb(dir: string, name: string, arch: string): Buffer {
  const pkg = join(dir, 'build', name);
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/doc', name), { recursive: true });
  writeFileSync(join(pkg, 'usr/share/doc', name, 'README'), `${name} for kiln tests\n`);
  writeFileSync(join(pkg, 'DEBIAN/control'), `Package: ${name}\nVersion: 1.0\nArchitecture: ${arch}\nMaintainer: kiln tests <tests@kiln.invalid>\nEssential: yes\nPriority: required\nDescription: test package\n`);
  chmodSync(pkg, 0o755);
  const out = join(dir, `${name}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkg, out], { stdio: 'ignore' });
  return readFileSync(out);
}

/** What the signed Release says about itself, where a test wants it to lie or to have expired. */
export interface ReleaseFields {
  suite?: string;
  codename?: string;
  /** An RFC 2822 date, as Debian writes them (default: Sat, 01 Nov 2025 00:00:00 UTC). */
  date?: string;
  validUntil?: string;
}

/** `date` as a Release file writes it: Sat, 01 Nov 2025 00:00:00 UTC */
export function releaseDate(date: Date): string {
  return date.toUTCString().replace('GMT', 'UTC');
}

/** `packageArch`: the architecture of the one package, tiny (default all). */
export async function makeFakeArchive(dir: string, opts: { suite?: string; arch?: string; packageArch?: string; release?: ReleaseFields } = {}): Promise<FakeArchive> {
  const suite = opts.suite ?? 'kilntest';
  const arch = opts.arch ?? 'amd64';
  const packageArch = opts.packageArch ?? 'all';
  const deb = buildDeb(dir, 'tiny', packageArch);
  const root = join(dir, 'archive');
  mkdirSync(join(root, 'pool/main/t/tiny'), { recursive: true });
  writeFileSync(join(root, 'pool/main/t/tiny/tiny_1.0_all.deb'), deb);
  const packages =
    `Package: tiny\nVersion: 1.0\nArchitecture: ${packageArch}\nEssential: yes\nPriority: required\nMaintainer: kiln tests <tests@kiln.invalid>\n` +
    `Installed-Size: 1\nFilename: pool/main/t/tiny/tiny_1.0_all.deb\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\nDescription: test package\n`;
  const indexDir = join(root, 'dists', suite, 'main', `binary-${arch}`);
  mkdirSync(indexDir, { recursive: true });
  writeFileSync(join(indexDir, 'Packages'), packages);
  execFileSync('xz', ['-k', join(indexDir, 'Packages')]);
  const xz = readFileSync(join(indexDir, 'Packages.xz'));
  const fields = opts.release ?? {};
  const release =
    `Origin: kiln\nSuite: ${fields.suite ?? suite}\nCodename: ${fields.codename ?? suite}\nDate: ${fields.date ?? 'Sat, 01 Nov 2025 00:00:00 UTC'}\n` +
    (fields.validUntil ? `Valid-Until: ${fields.validUntil}\n` : '') +
    `Architectures: ${arch}\nComponents: main\nSHA256:\n` +
    ` ${sha256(packages)} ${packages.length} main/binary-${arch}/Packages\n` +
    ` ${sha256(xz)} ${xz.length} main/binary-${arch}/Packages.xz\n`;
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'kiln test archive' }], format: 'armored' });
  const signed = await openpgp.sign({
    message: await openpgp.createCleartextMessage({ text: release }),
    signingKeys: await openpgp.readPrivateKey({ armoredKey: privateKey }),
  });
  writeFileSync(join(root, 'dists', suite, 'InRelease'), signed);
  const keyring = join(dir, 'archive-key.asc');
  writeFileSync(keyring, publicKey);
  return { root, keyring, suite };
}
