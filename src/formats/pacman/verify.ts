/**
 * Package signatures, checked after the download and before anything is
 * unpacked (pacman's SigLevel = Required for packages). Trust anchors, in
 * order: the keyring files in the configuration (or the host's keyring for
 * the distribution, which is the default), else, only when asked for with
 * keyring-bootstrap = "trust-first-download", the keyring package itself,
 * taken unverified and said so in the log.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { compressionFromName, decompressMember, readTar } from '../../archive/index.ts';
import { checkSignature, fetchBytes, loadKeyring, openPgpAnchors, parseKeys, type Key, type OpenPgpAnchors } from '../../repo/index.ts';
import { mapLimit } from '../../util/concurrency.ts';
import { UserError } from '../../util/errors.ts';
import type { VerifyContext } from '../types.ts';
import type { PacmanInstallPlan, PacmanPlanExtra, PacmanSource } from './plan.ts';

const KEYRING_DIR = 'usr/share/pacman/keyrings/';

export async function verifyPacman(ctx: VerifyContext<PacmanInstallPlan>): Promise<void> {
  const { plan, emit } = ctx;
  const extra = plan.extra;
  const sources = new Map(extra.sources.map((s) => [s.name, s]));
  const keysFor = keyLoader(ctx, extra);
  await mapLimit(plan.packages, 4, async (p) => {
    const pe = p.extra;
    const source = sources.get(pe.repo) as PacmanSource;
    if (!source.signed) return;
    const signature = pe.pgpsig ? Buffer.from(pe.pgpsig, 'base64') : await fetchSignature(ctx, p.urls[0] as string, p.name);
    const anchors = await keysFor(source);
    await checkSignature(ctx.memoDir, anchors, { kind: 'pacman-signature', sha256: p.sha256, signature, read: () => ctx.readPackage(p), source: `package ${p.name} ${p.version} (${pe.repo})` });
  });
  const checked = plan.packages.filter((p) => sources.get(p.extra.repo)?.signed).length;
  emit({ kind: 'log', level: 'info', message: `${checked} package signatures good` });
}

/** A package's detached signature beside it (URL.sig), when the database carries none. */
export async function fetchSignature(ctx: Pick<VerifyContext, 'limits' | 'emit' | 'signal'>, url: string, name: string): Promise<Buffer> {
  const sig = await fetchBytes(`${url}.sig`, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal, name: `${name}.sig`, missingOk: true, maxBytes: 1 << 16 });
  if (!sig) throw new UserError(`package ${name} has no signature (no %PGPSIG% in the database and no ${url}.sig)`, 'the repository must sign its packages; for a repository you trust without, set signature-level = "never" in its extra-repositories entry');
  return sig;
}

/** Keys per source, loaded once: the distribution's trust anchors or a third-party repository's own. */
function keyLoader(ctx: VerifyContext, extra: PacmanPlanExtra): (source: PacmanSource) => Promise<OpenPgpAnchors> {
  const loaded = new Map<string, Promise<OpenPgpAnchors>>();
  return (source) => {
    const files = source.keyring ?? ctx.config['distribution.keyring'];
    const cacheId = source.keyring ? `repo:${source.name}` : 'distribution';
    let entry = loaded.get(cacheId);
    if (!entry) {
      entry = files.length ? Promise.resolve(anchorsFrom(files)) : bootstrapKeys(ctx, extra, source);
      loaded.set(cacheId, entry);
    }
    return entry;
  };
}

/** Keys from keyring files, without those a `NAME-revoked` file beside them lists (pacman-key's layout). */
export function anchorsFrom(files: readonly string[]): OpenPgpAnchors {
  const revoked = new Set<string>();
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch {
      // loadKeyring says what is wrong with it, in one line
    }
    const list = join(dirname(file), basename(file).replace(/\.(gpg|asc)$/, '') + '-revoked');
    if (!existsSync(list)) continue;
    const text = readFileSync(list, 'utf8');
    hash.update(text);
    for (const fpr of parseFingerprints(text)) revoked.add(fpr);
  }
  return openPgpAnchors(hash.digest('hex'), () => loadKeyring(files).then((all) => all.filter((k) => !revoked.has(k.getFingerprint().toUpperCase()))));
}

/** Fingerprints, one per line, optionally followed by `:trust:` as in NAME-trusted files. */
export function parseFingerprints(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(':')[0]?.toUpperCase() ?? '')
    .filter((f) => /^[0-9A-F]{40}$/.test(f));
}

/**
 * No trust anchor on the host or in the config: only with keyring-bootstrap =
 * "trust-first-download", the keys of the keyring package(s) as downloaded.
 */
async function bootstrapKeys(ctx: VerifyContext, extra: PacmanPlanExtra, source: PacmanSource): Promise<OpenPgpAnchors> {
  const pretty = ctx.distribution.pretty;
  if (ctx.config['distribution.keyring-bootstrap'] !== 'trust-first-download') {
    throw new UserError(
      `no keyring to check ${pretty} packages (repository ${source.name}): ${whyNoKeyring(ctx.distribution.keyrings)}`,
      `set distribution.keyring to the distribution's keyring file, or set distribution.keyring-bootstrap = "trust-first-download" to trust the keyring package as downloaded`,
    );
  }
  const keyringPackages = ctx.plan.packages.filter((p) => extra.keyringPackages.includes(p.name));
  if (!keyringPackages.length) throw new UserError(`keyring-bootstrap: none of ${extra.keyringPackages.join(', ')} is in the plan`, 'add the keyring package to packages.install');
  const keys: Key[] = [];
  const hash = createHash('sha256');
  for (const p of keyringPackages) {
    const warning = `keyring-bootstrap = "trust-first-download": trusting ${p.name} ${p.version} (sha256 ${p.sha256}) as downloaded, unverified`;
    ctx.emit({ kind: 'log', level: 'warn', message: warning });
    ctx.plan.warnings.push(warning);
    hash.update(p.sha256);
    keys.push(...(await keysInPackage(await ctx.readPackage(p), p.urls[0] as string)));
  }
  if (!keys.length) throw new UserError(`keyring-bootstrap: ${keyringPackages.map((p) => p.name).join(', ')} holds no keys under /${KEYRING_DIR}`, 'set distribution.keyring to a keyring file instead');
  return openPgpAnchors(hash.digest('hex'), async () => keys);
}

/**
 * Why distribution.keyring is empty: the default takes the host's keyring
 * when it has one, so an empty list with a host keyring present was set so.
 */
export function whyNoKeyring(hostKeyrings: readonly string[], exists: (path: string) => boolean = existsSync): string {
  const present = hostKeyrings.find((path) => exists(path));
  if (present) return `distribution.keyring is set to [] (the host's ${present} is used only when listed there or when the setting is left unset)`;
  return `distribution.keyring is empty (this host has no ${hostKeyrings.join(' or ')})`;
}

/** The keys a keyring package installs under /usr/share/pacman/keyrings, minus its revoked list. */
async function keysInPackage(file: Buffer, url: string): Promise<Key[]> {
  const data = await decompressMember(file, compressionFromName(url));
  const files = new Map<string, Buffer>();
  for await (const item of readTar(data)) {
    const path = item.entry.path.replace(/^\.?\//, '');
    if (path.startsWith(KEYRING_DIR) && item.entry.type === 'file') files.set(path.slice(KEYRING_DIR.length), Buffer.concat(await collect(item.body)));
    else for await (const _ of item.body) void _;
  }
  const revoked = new Set<string>();
  for (const [name, body] of files) if (name.endsWith('-revoked')) for (const f of parseFingerprints(body.toString('utf8'))) revoked.add(f);
  const keys: Key[] = [];
  for (const [name, body] of files) {
    if (!name.endsWith('.gpg')) continue;
    keys.push(...(await parseKeys(body)).filter((k) => !revoked.has(k.getFingerprint().toUpperCase())));
  }
  return keys;
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks;
}
