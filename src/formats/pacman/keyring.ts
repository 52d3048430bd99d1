/**
 * The image's pacman keyring (/etc/pacman.d/gnupg), as `pacman-key --init`
 * and `--populate` would leave it: a local master key, the distribution's
 * keys imported, the trusted ones signed locally and given their owner trust,
 * the revoked ones disabled.
 *
 * The work is done with the host's gpg on the tree (natively, whatever the
 * target architecture) and the result is cached under a key derived from the
 * keyring files and the gpg version, so it runs once per keyring release.
 * The master key's secret half is removed before the keyring is cached or
 * shipped: images never share a private key (`pacman-key --init` in the image
 * makes its own when one is needed). Without a host gpg, the tree's own
 * pacman-key runs inside the root (emulated when foreign).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Tree } from '../../tree/index.ts';
import { findOnPath } from '../../util/path.ts';
import { run } from '../../util/run.ts';
import type { InstallContext } from '../types.ts';
import { parseFingerprints } from './verify.ts';

const KEYRINGS = 'usr/share/pacman/keyrings';
const GNUPG = 'etc/pacman.d/gnupg';
const CACHE_FORMAT = 1;

/** pacman-key's gpg.conf settings for the pacman keyring. */
const GPG_CONF = 'no-greeting\nno-permission-warning\nlock-never\nkeyserver-options timeout=10\nkeyserver-options import-clean\nkeyserver-options no-self-sigs-only\n';

interface KeyringFiles {
  name: string;
  keys: Buffer;
  trusted: string[];
  revoked: string[];
}

/** Populates the keyring for the named keyrings found in the tree; returns what it did, for the log. */
export async function populateKeyring(ctx: InstallContext, keyringPackages: string[]): Promise<string> {
  const tree = new Tree(ctx.root);
  const files = keyringFiles(tree, keyringPackages);
  if (!files.length) return 'no keyring package in the tree';
  const names = files.map((f) => f.name).join(', ');
  const gpg = findOnPath('gpg');
  const gpgconf = findOnPath('gpgconf');
  const native = gpg !== undefined && gpgconf !== undefined;
  if (!native && !tree.exists('usr/bin/pacman-key')) return 'skipped: no gpg on the host and no pacman-key in the tree';
  // The same keyrings made by the same tool give the same result: made once, then taken from the cache.
  const tool = native ? (await run(gpg, ['--version'])).split('\n')[0] ?? '' : `pacman-key in the tree (${ctx.plan.packages.find((p) => p.name === 'pacman')?.version ?? '?'})`;
  const hash = createHash('sha256').update(`${CACHE_FORMAT}\0${tool}\0`);
  for (const f of files) hash.update(f.name).update('\0').update(f.keys).update(f.trusted.join()).update('\0').update(f.revoked.join()).update('\0');
  const cached = join(ctx.cacheDir, 'keyrings', `${hash.digest('hex')}.tar`);
  // A fresh directory: gpg and tar write into it and would follow links a package put there.
  tree.remove(GNUPG, { recursive: true });
  const dir = tree.mkdir(GNUPG, { mode: 0o755 });
  if (existsSync(cached)) {
    await run('tar', ['-C', dir, '-xf', cached]);
    return `${names} (cached)`;
  }
  if (native) {
    await buildKeyring(gpg, gpgconf, tree, files);
  } else {
    await ctx.run(['pacman-key', '--init'], { source: 'pacman-key' });
    await ctx.run(['pacman-key', '--populate', ...files.map((f) => f.name)], { source: 'pacman-key' });
    await ctx.run(['gpgconf', '--homedir', `/${GNUPG}`, '--kill', 'all'], { source: 'pacman-key' }).catch(() => undefined);
  }
  stripSecrets(tree);
  await mkdir(join(ctx.cacheDir, 'keyrings'), { recursive: true });
  const tmp = `${cached}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await run('tar', ['-C', dir, '--numeric-owner', '-cf', tmp, '.']);
    await rename(tmp, cached);
  } finally {
    await rm(tmp, { force: true });
  }
  return native ? names : `${names} (pacman-key in the tree)`;
}

function keyringFiles(tree: Tree, packages: string[]): KeyringFiles[] {
  const present = new Set(tree.isDirectory(KEYRINGS) ? tree.readdir(KEYRINGS) : []);
  const names = [...present].filter((n) => n.endsWith('.gpg')).map((n) => n.slice(0, -4));
  // The named keyring packages' keyrings first (NAME-keyring ships NAME.gpg), then any other in the tree.
  const wanted = packages.map((p) => p.replace(/-keyring$/, '')).filter((n) => names.includes(n));
  const order = [...wanted, ...names.filter((n) => !wanted.includes(n)).sort()];
  const out: KeyringFiles[] = [];
  for (const name of order) {
    const read = (suffix: string) => (present.has(`${name}${suffix}`) ? tree.readText(`${KEYRINGS}/${name}${suffix}`) : '');
    out.push({ name, keys: tree.readBytes(`${KEYRINGS}/${name}.gpg`), trusted: read('-trusted').split('\n').filter((l) => /^[0-9A-Fa-f]{40}:\d+:?\s*$/.test(l.trim())).map((l) => l.trim()), revoked: parseFingerprints(read('-revoked')) });
  }
  return out;
}

async function buildKeyring(gpg: string, gpgconf: string, tree: Tree, files: KeyringFiles[]): Promise<void> {
  const dir = tree.hostPath(GNUPG);
  tree.write(`${GNUPG}/gpg.conf`, GPG_CONF);
  const env = { ...process.env, GNUPGHOME: dir, LC_ALL: 'C' };
  const g = (args: string[], input?: string) => run(gpg, ['--homedir', dir, '--batch', '--no-tty', ...args], { env, input });
  try {
    await g(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Pacman Keyring Master Key <pacman@localhost>', 'ed25519', 'sign', 'never']);
    for (const f of files) {
      const tmp = `.import-${f.name}.gpg`;
      tree.write(`${GNUPG}/${tmp}`, f.keys);
      await g(['--import', join(dir, tmp)]);
      tree.remove(`${GNUPG}/${tmp}`);
    }
    const trusted = files.flatMap((f) => f.trusted);
    if (trusted.length) {
      await g(['--import-ownertrust'], trusted.map((l) => `${l.split(':')[0]}:${l.split(':')[1]}:`).join('\n') + '\n');
      for (const line of trusted) await g(['--yes', '--quick-lsign-key', line.split(':')[0] as string]);
    }
    for (const fpr of files.flatMap((f) => f.revoked)) await g(['--command-fd', '0', '--edit-key', fpr], 'disable\nquit\n').catch(() => undefined);
    await g(['--check-trustdb']);
  } finally {
    await run(gpgconf, ['--homedir', dir, '--kill', 'all'], { env }).catch(() => undefined);
  }
}

/** No secret key, no revocation certificate, no sockets, no backups in the image. */
function stripSecrets(tree: Tree): void {
  for (const name of tree.readdir(GNUPG)) {
    if (name === 'private-keys-v1.d' || name === 'openpgp-revocs.d' || name.startsWith('S.') || name.endsWith('~') || name === 'random_seed' || name.startsWith('.#')) {
      tree.remove(`${GNUPG}/${name}`, { recursive: true });
    }
  }
}
