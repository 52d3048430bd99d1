/**
 * A signed third-party pacman repository of crafted packages, for the
 * hostile-package tests: beside the fake Arch repositories
 * (test/helpers/fake-arch.ts), signed with the same throwaway packager key,
 * indexed with the real repo-add. A package may claim, in its own .PKGINFO,
 * another name than the database gives it: it is indexed under its honest
 * twin, then its bytes are swapped and the database entry's checksums and
 * signature are made to match the swapped bytes, as a hostile repository
 * would publish it.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrivateKey } from 'openpgp';
import { readSecretKey, signDetached } from './fixture-keys.ts';
import type { TarSpecEntry } from './hostile-debian.ts';

const CRAFT_TAR = fileURLToPath(new URL('./craft-tar.py', import.meta.url));

export interface HostilePacmanPackage {
  /** The name the repository database gives it. */
  name: string;
  /** .PKGINFO fields that differ from the database's (e.g. a crafted pkgname). */
  pkginfo?: Record<string, string>;
  /** The .INSTALL scriptlet. */
  install?: string;
  depends?: string[];
  data: TarSpecEntry[];
}

const VERSION = '1.0-1';

function pkginfoText(name: string, p: HostilePacmanPackage, override: boolean): string {
  const fields: Record<string, string> = { pkgname: name, pkgbase: name, pkgver: VERSION, pkgdesc: 'hostile package for kiln tests', builddate: '1700000000', packager: 'kiln tests <packager@kiln.invalid>', size: '1', arch: 'any', license: 'custom' };
  if (override) Object.assign(fields, p.pkginfo);
  return [...Object.entries(fields).map(([k, v]) => `${k} = ${v}`), ...(p.depends ?? []).map((d) => `depend = ${d}`)].join('\n') + '\n';
}

function craftPackage(work: string, p: HostilePacmanPackage, override: boolean, out: string): void {
  const entries: TarSpecEntry[] = [
    { name: '.PKGINFO', type: 'file', content: pkginfoText(p.name, p, override) },
    ...(p.install ? [{ name: '.INSTALL', type: 'file' as const, content: p.install }] : []),
    ...p.data,
  ];
  const tar = join(work, 'pkg.tar');
  execFileSync('python3', [CRAFT_TAR, tar], { input: JSON.stringify(entries) });
  execFileSync('zstd', ['-q', '-f', '-o', out, tar]);
  rmSync(tar);
}

/** Signs `file` (FILE.sig) and returns the signature. */
async function signFile(file: string, key: PrivateKey): Promise<Buffer> {
  await signDetached(file, key);
  return readFileSync(`${file}.sig`);
}

/**
 * Writes the repository `hostile` for x86_64 under `root` (served as
 * `${url}/hostile/os/x86_64`), signed with the fake repositories' packager
 * key (`keysDir` is their keys/ directory).
 */
export async function makeHostilePacmanRepo(root: string, keysDir: string, packages: HostilePacmanPackage[]): Promise<string> {
  const repoDir = join(root, 'hostile', 'os', 'x86_64');
  mkdirSync(repoDir, { recursive: true });
  const key = await readSecretKey(keysDir, 'packager');
  const work = mkdtempSync(join(root, 'craft-'));
  const swapped: HostilePacmanPackage[] = [];
  for (const p of packages) {
    const file = join(repoDir, `${p.name}-${VERSION}-any.pkg.tar.zst`);
    craftPackage(work, p, false, file);
    await signFile(file, key);
    if (p.pkginfo) swapped.push(p);
  }
  execFileSync('repo-add', ['-q', '--nocolor', 'hostile.db.tar.gz', ...readdirSync(repoDir).filter((n) => n.endsWith('.pkg.tar.zst'))], { cwd: repoDir });
  if (swapped.length) {
    const db = join(work, 'db');
    mkdirSync(db);
    execFileSync('bsdtar', ['-xf', join(repoDir, 'hostile.db.tar.gz'), '-C', db]);
    for (const p of swapped) {
      const file = join(repoDir, `${p.name}-${VERSION}-any.pkg.tar.zst`);
      craftPackage(work, p, true, file);
      const sig = await signFile(file, key);
      const bytes = readFileSync(file);
      const desc = join(db, `${p.name}-${VERSION}`, 'desc');
      const fields: Record<string, string> = {
        CSIZE: String(bytes.length),
        MD5SUM: createHash('md5').update(bytes).digest('hex'),
        SHA256SUM: createHash('sha256').update(bytes).digest('hex'),
        PGPSIG: sig.toString('base64'),
      };
      const text = readFileSync(desc, 'utf8').replace(/^%(CSIZE|MD5SUM|SHA256SUM|PGPSIG)%\n.*$/gm, (_m, k: string) => `%${k}%\n${fields[k]}`);
      writeFileSync(desc, text);
    }
    const entries = readdirSync(db).sort();
    for (const name of ['hostile.db.tar.gz', 'hostile.db']) rmSync(join(repoDir, name), { force: true });
    execFileSync('bsdtar', ['-czf', join(repoDir, 'hostile.db.tar.gz'), '-C', db, ...entries]);
    execFileSync('ln', ['-sf', 'hostile.db.tar.gz', join(repoDir, 'hostile.db')]);
  }
  for (const name of readdirSync(repoDir)) if (name.endsWith('.old')) rmSync(join(repoDir, name));
  rmSync(work, { recursive: true, force: true });
  return repoDir;
}
