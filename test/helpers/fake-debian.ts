/**
 * A tiny Debian archive in the real formats, for tests of what kiln refuses
 * and for the formats' contract test: .debs built with dpkg-deb, a
 * Packages.xz, a Release clearsigned with a throwaway OpenPGP key. Served by
 * test/helpers/mirror-server.ts on 127.0.0.1.
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

/** One package of the archive. */
export interface FakeDebPackage {
  name: string;
  /** Default 1.0. */
  version?: string;
  /** Default: the archive's packageArch. */
  architecture?: string;
  /** Default true: base = "essential" or "minimal" takes it. */
  essential?: boolean;
  /** Default required (with essential), else optional. */
  priority?: string;
  /** The Depends field, e.g. "tiny-lib (>= 1.0)". */
  depends?: string;
}

/** The fields of `p` that its DEBIAN/control and its Packages entry share. */
function controlFields(p: Required<Omit<FakeDebPackage, 'depends'>> & Pick<FakeDebPackage, 'depends'>): string {
  return (
    `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: ${p.architecture}\n` +
    (p.essential ? 'Essential: yes\n' : '') +
    `Priority: ${p.priority}\nMaintainer: kiln tests <tests@kiln.invalid>\n` +
    (p.depends ? `Depends: ${p.depends}\n` : '')
  );
}

function buildDeb(dir: string, p: Parameters<typeof controlFields>[0]): Buffer {
  const pkg = join(dir, 'build', p.name);
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/doc', p.name), { recursive: true });
  writeFileSync(join(pkg, 'usr/share/doc', p.name, 'README'), `${p.name} for kiln tests\n`);
  writeFileSync(join(pkg, 'DEBIAN/control'), `${controlFields(p)}Description: test package\n`);
  chmodSync(pkg, 0o755);
  const out = join(dir, `${p.name}.deb`);
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

/**
 * `packageArch`: the architecture of the packages, tiny (default all).
 * `packages`: what the archive holds (default one Essential package, `tiny`).
 */
export async function makeFakeArchive(dir: string, opts: { suite?: string; arch?: string; packageArch?: string; release?: ReleaseFields; packages?: FakeDebPackage[] } = {}): Promise<FakeArchive> {
  const suite = opts.suite ?? 'kilntest';
  const arch = opts.arch ?? 'amd64';
  const packageArch = opts.packageArch ?? 'all';
  const root = join(dir, 'archive');
  const stanzas: string[] = [];
  for (const wanted of opts.packages ?? [{ name: 'tiny' }]) {
    const essential = wanted.essential ?? true;
    const p = { ...wanted, version: wanted.version ?? '1.0', architecture: wanted.architecture ?? packageArch, essential, priority: wanted.priority ?? (essential ? 'required' : 'optional') };
    const deb = buildDeb(dir, p);
    const pool = `pool/main/${p.name[0]}/${p.name}`;
    const filename = `${pool}/${p.name}_${p.version}_all.deb`;
    mkdirSync(join(root, pool), { recursive: true });
    writeFileSync(join(root, filename), deb);
    stanzas.push(`${controlFields(p)}Installed-Size: 1\nFilename: ${filename}\nSize: ${deb.length}\nSHA256: ${sha256(deb)}\nDescription: test package\n`);
  }
  const packages = stanzas.join('\n');
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
