/**
 * Real Alpine v2 repositories for tests, written from the format documents
 * (apk-v2(5), the Alpine wiki, abuild's behaviour) and independent of kiln's
 * own apk reader: for x86_64 and aarch64, laid out as a mirror
 *
 *   ROOT/alpine/v3.21/main/ARCH/APKINDEX.tar.gz and NAME-VERSION.apk
 *
 * made from real Debian binaries (busybox-static, musl; fetched and cached
 * by fixture-debs.ts), signed with an RSA key made here (node:crypto), plus
 * an unknown second key. What the packages hold: apk-fixture-specs.ts; how
 * one is made: apk-fixture-package.ts; the bytes: apk-fixture-tar.ts.
 *
 * Tampered variants are separate mirror roots (ROOT-KIND), each changing
 * the package `hello` (or the index) in every architecture: see
 * ApkVariantKind. `realistic: true` makes the bench's repository instead:
 * about 25 packages and 10 MB, alpine-base depending on all of them.
 */
import { generateKeyPairSync, createHash, createPrivateKey } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { cp, lstat, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/host.ts';
import { run } from '../../src/util/run.ts';
import { buildApk, buildIndex, type ApkBuilt, type ApkEntry, type ApkMachine, type ApkSigner, type ApkSpec } from './apk-fixture-package.ts';
import { APK_FIXTURE_DEBS, apkSpecs, REALISTIC_DEBS, RELEASE, REPO, type ApkFixtureBins, type ApkFixtureKeyInfo } from './apk-fixture-specs.ts';
import { cachedBuild, defaultFixtureCache, helpersDigest, restoreBuild, storeBuild } from './fixture-cache.ts';
import { fetchFixtureDebs, fixtureDebsCached, stageDeb, type FixtureDeb, type FixtureDebsRequest } from './fixture-debs.ts';
import { listTree } from './fixture-tree.ts';
import { missingTools } from './host-tools.ts';

export type { ApkBuilt, ApkFile, ApkMachine } from './apk-fixture-package.ts';
export { MINIMAL_HELLO_PLAN, NEWEST, RELEASE, REPO, SERVICE_USER, HOOKS_DIR } from './apk-fixture-specs.ts';

/** Package times and the index's: fixed, so the repositories do not depend on when they were made. */
export const APK_EPOCH = 1_735_689_600; // 2025-01-01
const DEBIAN_ARCH: Record<ApkMachine, string> = { x86_64: 'amd64', aarch64: 'arm64' };
const TRIPLE: Record<ApkMachine, string> = { x86_64: 'x86_64-linux-musl', aarch64: 'aarch64-linux-musl' };
const SOURCES = ['apk-fixture.ts', 'apk-fixture-specs.ts', 'apk-fixture-package.ts', 'apk-fixture-tar.ts', 'fixture-debs.ts', 'fixture-tree.ts'];
const CACHED = ['mirror', 'keys', 'private', 'manifest.json'];
export const INDEX_DESCRIPTION = 'v3.21.3-kiln-fixture';

/**
 * flipped-byte: one byte of hello's data member changed, index untouched (the datahash/gzip check fails).
 * unknown-key-index: APKINDEX.tar.gz signed by the unknown key.
 * unknown-key-package: hello signed by the unknown key, index re-made.
 * unsigned-package: hello without a signature member, index re-made.
 * missing-package: hello listed in the index, its file gone.
 * bad-datahash: hello's .PKGINFO carries a wrong datahash, properly signed, index re-made.
 * bad-pax-checksum: /usr/bin/hello's bytes changed after its APK-TOOLS.checksum.SHA1
 *   was taken, the datahash of the changed data, signed, index re-made: only the
 *   per-file checksum tells.
 */
export type ApkVariantKind = 'flipped-byte' | 'unknown-key-index' | 'unknown-key-package' | 'unsigned-package' | 'missing-package' | 'bad-datahash' | 'bad-pax-checksum';
export const APK_VARIANTS: readonly ApkVariantKind[] = ['flipped-byte', 'unknown-key-index', 'unknown-key-package', 'unsigned-package', 'missing-package', 'bad-datahash', 'bad-pax-checksum'];
/** The file the bad-pax-checksum variant changes, and the refusal names. */
export const TAMPERED_FILE = 'usr/bin/hello';
/** The package every variant changes. */
export const VARIANT_PACKAGE = 'hello';

interface Manifest {
  key: ApkFixtureKeyInfo;
  unknownKey: ApkFixtureKeyInfo;
  packages: Partial<Record<ApkMachine, ApkBuilt[]>>;
}

export interface ApkVariant {
  kind: ApkVariantKind;
  /** Serve it like the original: mirror = `${url}/alpine`. */
  root: string;
  /** The file the refusal must name: the package's file name, or APKINDEX.tar.gz. */
  file: string;
}

export interface ApkRepos {
  /** Serve it: mirror = `${url}/alpine`, packages at $mirror/v3.21/main/$arch/. */
  root: string;
  release: string;
  repo: string;
  /** A directory holding the trusted NAME.rsa.pub (private: see readableApkKeys). */
  keysDir: string;
  keyName: string;
  /** PEM of the trusted public key. */
  publicKey: string;
  unknownKeysDir: string;
  packages: Partial<Record<ApkMachine, ApkBuilt[]>>;
  /** Directory of one architecture's repository. */
  dir(arch: ApkMachine): string;
  variant(kind: ApkVariantKind): Promise<ApkVariant>;
  /** Another mirror root (served like `root`) where one architecture's `package` is remade: see ApkRepack. */
  repacked(change: ApkRepack): Promise<string>;
}

/**
 * One package of one architecture made again, the rest of the mirror as it
 * is, the index re-made and signed by the trusted key: at another
 * `version`, or signed by the unknown key (`key: 'unknown'`); or that
 * architecture's index signed by the unknown key instead (`indexKey`).
 */
export interface ApkRepack {
  machine: ApkMachine;
  package: string;
  version?: string;
  key?: 'unknown';
  indexKey?: 'unknown';
}

/** Why the repositories cannot be made here, or undefined when they can. */
export function apkFixtureSkipReason(architectures: ApkMachine[], opts: { realistic?: boolean; cacheDir?: string } = {}): string | undefined {
  const tools = missingTools(['dpkg-deb']);
  if (tools) return tools;
  const cacheDir = opts.cacheDir ?? defaultFixtureCache();
  const warm = architectures.every((a) => fixtureDebsCached(debsRequest(a, cacheDir, opts.realistic)));
  if (!warm && !hostMirrorFor('debian')) return 'the host has no Debian mirror to take busybox-static and musl from';
  return undefined;
}

function debsRequest(machine: ApkMachine, cacheDir: string, realistic?: boolean): FixtureDebsRequest {
  return { cacheDir, debianArch: DEBIAN_ARCH[machine], names: realistic ? [...APK_FIXTURE_DEBS, ...Object.keys(REALISTIC_DEBS)] : [...APK_FIXTURE_DEBS] };
}

export function makeApkKey(label: string): { info: ApkFixtureKeyInfo; secretPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const id = createHash('sha256').update(pem).digest('hex').slice(0, 8);
  return { info: { name: `${label}@kiln.invalid-${id}.rsa.pub`, pem }, secretPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A tree on disk as package entries (modes from the files, owned by root). */
async function entriesOf(stage: string): Promise<ApkEntry[]> {
  const out: ApkEntry[] = [];
  for (const e of await listTree(stage)) {
    const full = join(stage, e.path);
    const st = await lstat(full);
    if (st.isSymbolicLink()) out.push({ path: e.path, type: 'symlink', target: await readlink(full) });
    else if (st.isDirectory()) out.push({ path: e.path, type: 'dir', mode: st.mode & 0o7777 });
    else out.push({ path: e.path, type: 'file', data: await readFile(full), mode: st.mode & 0o7777 });
  }
  return out;
}

async function binsFor(machine: ApkMachine, debs: FixtureDeb[], work: string, realistic: boolean): Promise<ApkFixtureBins> {
  const tree = async (name: string) => {
    const deb = debs.find((d) => d.name === name);
    if (!deb) throw new Error(`no ${name} for ${machine}`);
    const dir = join(work, machine, name);
    await mkdir(dir, { recursive: true });
    await run('dpkg-deb', ['-x', deb.path, dir]);
    return dir;
  };
  const busybox = await readFile(join(await tree('busybox-static'), 'bin/busybox'));
  const musl = await readFile(join(await tree('musl'), 'lib', TRIPLE[machine], 'libc.so'));
  if (!realistic) return { busybox, musl };
  const staged = new Map<string, ApkEntry[]>();
  for (const deb of Object.keys(REALISTIC_DEBS)) {
    const stage = join(work, machine, `${deb}.stage`);
    await mkdir(stage, { recursive: true });
    await stageDeb(await tree(deb), stage);
    staged.set(deb, await entriesOf(stage));
  }
  return { busybox, musl, staged };
}

export const signerOf = (info: ApkFixtureKeyInfo, secretPem: string): ApkSigner => ({ name: info.name, secret: createPrivateKey(secretPem) });
const byName = (a: ApkBuilt, b: ApkBuilt) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const archDir = (root: string, machine: ApkMachine) => join(root, 'alpine', RELEASE, REPO, machine);

export async function writeApkRepo(dir: string, specs: ApkSpec[], signer: ApkSigner): Promise<ApkBuilt[]> {
  await mkdir(dir, { recursive: true });
  const built: ApkBuilt[] = [];
  for (const spec of specs) {
    const { bytes, built: b } = buildApk(spec, signer, APK_EPOCH);
    await writeFile(join(dir, b.filename), bytes);
    built.push(b);
  }
  built.sort(byName);
  await writeFile(join(dir, 'APKINDEX.tar.gz'), buildIndex(built, INDEX_DESCRIPTION, signer, APK_EPOCH));
  return built;
}

async function build(dir: string, debs: Map<ApkMachine, FixtureDeb[]>, realistic: boolean): Promise<Manifest> {
  const work = join(dir, 'build');
  const key = makeApkKey('kiln-test');
  const unknown = makeApkKey('kiln-unknown');
  for (const [sub, k] of [['keys', key], ['unknown-keys', unknown]] as const) {
    await mkdir(join(dir, 'keys', sub === 'keys' ? 'trusted' : 'unknown'), { recursive: true });
    await writeFile(join(dir, 'keys', sub === 'keys' ? 'trusted' : 'unknown', k.info.name), k.info.pem);
    await mkdir(join(dir, 'private'), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'private', k.info.name.replace(/\.pub$/, '')), k.secretPem, { mode: 0o600 });
  }
  const manifest: Manifest = { key: key.info, unknownKey: unknown.info, packages: {} };
  for (const [machine, list] of debs) {
    const bins = await binsFor(machine, list, work, realistic);
    manifest.packages[machine] = await writeApkRepo(archDir(join(dir, 'mirror'), machine), apkSpecs(machine, bins, key.info, unknown.info), signerOf(key.info, key.secretPem));
  }
  await rm(work, { recursive: true, force: true });
  return manifest;
}

/** hello's spec again (it needs no Debian binaries), to remake it for a variant. */
function helloSpec(machine: ApkMachine, key: ApkFixtureKeyInfo): ApkSpec {
  const spec = apkSpecs(machine, { busybox: Buffer.alloc(0), musl: Buffer.alloc(0) }, key).find((s) => s.name === VARIANT_PACKAGE);
  if (!spec) throw new Error(`no ${VARIANT_PACKAGE} in the fixture`);
  return spec;
}

async function makeVariant(dir: string, manifest: Manifest, kind: ApkVariantKind): Promise<ApkVariant> {
  const root = join(dir, `mirror-${kind}`);
  await rm(root, { recursive: true, force: true });
  await cp(join(dir, 'mirror'), root, { recursive: true });
  const secret = async (info: ApkFixtureKeyInfo) => signerOf(info, await readFile(join(dir, 'private', info.name.replace(/\.pub$/, '')), 'utf8'));
  const trusted = await secret(manifest.key);
  const unknown = await secret(manifest.unknownKey);
  let file = '';
  for (const [machine, packages] of Object.entries(manifest.packages) as [ApkMachine, ApkBuilt[]][]) {
    const repo = archDir(root, machine);
    const old = packages.find((p) => p.name === VARIANT_PACKAGE) as ApkBuilt;
    file = old.filename;
    let replaced: ApkBuilt | undefined;
    if (kind === 'flipped-byte') {
      const bytes = await readFile(join(repo, old.filename));
      const data = old.members[old.members.length - 1] as number;
      const at = data + Math.floor((bytes.length - data) / 2);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      await writeFile(join(repo, old.filename), bytes);
    } else if (kind === 'missing-package') {
      await rm(join(repo, old.filename));
    } else if (kind === 'unknown-key-index') {
      file = 'APKINDEX.tar.gz';
      await writeFile(join(repo, 'APKINDEX.tar.gz'), buildIndex(packages, INDEX_DESCRIPTION, unknown, APK_EPOCH));
    } else {
      const spec = { ...helloSpec(machine, manifest.key) };
      if (kind === 'unsigned-package') spec.signature = 'none';
      if (kind === 'bad-datahash') spec.wrongDatahash = true;
      if (kind === 'bad-pax-checksum') spec.tamperedFile = TAMPERED_FILE;
      const { bytes, built } = buildApk(spec, kind === 'unknown-key-package' ? unknown : trusted, APK_EPOCH);
      await writeFile(join(repo, built.filename), bytes);
      replaced = built;
    }
    if (replaced) {
      const next = packages.map((p) => (p.name === VARIANT_PACKAGE && p.version === old.version ? (replaced as ApkBuilt) : p));
      await writeFile(join(repo, 'APKINDEX.tar.gz'), buildIndex(next, INDEX_DESCRIPTION, trusted, APK_EPOCH));
    }
  }
  return { kind, root, file };
}

async function repack(dir: string, manifest: Manifest, debs: FixtureDeb[], change: ApkRepack): Promise<string> {
  const label = `${change.machine}-${change.package}-${change.version ?? ''}-${change.key ?? 'trusted'}-${change.indexKey ?? 'trusted'}`;
  const root = join(dir, `mirror-repacked-${label}`);
  await rm(root, { recursive: true, force: true });
  await cp(join(dir, 'mirror'), root, { recursive: true });
  const work = join(dir, `build-repacked-${label}`);
  const bins = await binsFor(change.machine, debs, work, false);
  await rm(work, { recursive: true, force: true });
  const spec = apkSpecs(change.machine, bins, manifest.key).find((s) => s.name === change.package);
  if (!spec) throw new Error(`no ${change.package} in the fixture`);
  const secret = async (info: ApkFixtureKeyInfo) => signerOf(info, await readFile(join(dir, 'private', info.name.replace(/\.pub$/, '')), 'utf8'));
  const trusted = await secret(manifest.key);
  const { bytes, built } = buildApk({ ...spec, version: change.version ?? spec.version }, change.key === 'unknown' ? await secret(manifest.unknownKey) : trusted, APK_EPOCH);
  const repo = archDir(root, change.machine);
  const packages = manifest.packages[change.machine] ?? [];
  const old = packages.find((p) => p.name === change.package) as ApkBuilt;
  await rm(join(repo, old.filename));
  await writeFile(join(repo, built.filename), bytes);
  const indexSigner = change.indexKey === 'unknown' ? await secret(manifest.unknownKey) : trusted;
  await writeFile(join(repo, 'APKINDEX.tar.gz'), buildIndex(packages.map((p) => (p === old ? built : p)).sort(byName), INDEX_DESCRIPTION, indexSigner, APK_EPOCH));
  return root;
}

/**
 * Makes the repositories under `dir` (dir/mirror, dir/keys/trusted,
 * dir/keys/unknown) for the given architectures; reuses a finished build of
 * the same inputs from the fixture cache, and the .debs from it.
 */
export async function makeApkRepos(dir: string, opts: { architectures: ApkMachine[]; realistic?: boolean; cacheDir?: string }): Promise<ApkRepos> {
  const cacheDir = opts.cacheDir ?? defaultFixtureCache();
  const machines = [...new Set(opts.architectures)].sort();
  const realistic = opts.realistic ?? false;
  const debs = new Map(await Promise.all(machines.map(async (m) => [m, await fetchFixtureDebs(debsRequest(m, cacheDir, realistic))] as const)));
  const inputs = helpersDigest(SOURCES).update(realistic ? 'realistic' : 'small');
  for (const [m, list] of debs) inputs.update(`${m}:${list.map((d) => d.sha256).join(',')};`);
  const cached = cachedBuild(cacheDir, `apk-${inputs.digest('hex').slice(0, 32)}`, CACHED, 'manifest.json');
  await mkdir(dir, { recursive: true });
  let manifest: Manifest;
  if (await restoreBuild(cached, dir)) {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } else {
    manifest = await build(dir, debs, realistic);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await storeBuild(cached, dir);
  }
  const variants = new Map<ApkVariantKind, Promise<ApkVariant>>();
  const root = join(dir, 'mirror');
  return {
    root,
    release: RELEASE,
    repo: REPO,
    keysDir: join(dir, 'keys', 'trusted'),
    keyName: manifest.key.name,
    publicKey: manifest.key.pem,
    unknownKeysDir: join(dir, 'keys', 'unknown'),
    packages: manifest.packages,
    dir: (arch) => archDir(root, arch),
    variant(kind) {
      if (!variants.has(kind)) variants.set(kind, makeVariant(dir, manifest, kind));
      return variants.get(kind) as Promise<ApkVariant>;
    },
    repacked: (change) => repack(dir, manifest, debs.get(change.machine) ?? [], change),
  };
}

/** A copy of a keys directory that the unprivileged test user can read (the fixture directory is private); the caller removes it. */
export function readableApkKeys(keysDir: string, label: string): string {
  const keys = mkdtempSync(join(tmpdir(), `kiln-${label}-apk-keys-`));
  chmodSync(keys, 0o755);
  for (const name of readdirSync(keysDir)) {
    copyFileSync(join(keysDir, name), join(keys, name));
    chmodSync(join(keys, name), 0o644);
  }
  return keys;
}

/** The newest package of a name in one architecture's repository. */
export function apkPackage(repos: ApkRepos, arch: ApkMachine, name: string, version?: string): ApkBuilt {
  const found = (repos.packages[arch] ?? []).filter((p) => p.name === name && (version === undefined || p.version === version));
  const p = found[found.length - 1];
  if (!p) throw new Error(`no ${name}${version ? ` ${version}` : ''} in the ${arch} fixture`);
  return p;
}
