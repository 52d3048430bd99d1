/**
 * Is a tree built in the pacman comparison sane? Checked with the host's
 * pacman and gpg, not kiln's readers, after every run of either side:
 * - `pacman -Qq` lists exactly the packages asked for and their dependencies;
 * - `pacman -Qk` finds every file of every package;
 * - the fixture's .INSTALL scriptlets and its ALPM hook left their marks;
 * - the image's keyring (etc/pacman.d/gnupg) holds the fixture's packager key
 *   with full or ultimate validity (imported, locally signed by the keyring's
 *   master key), read from a copy so that gpg writes nothing into the tree;
 *   or, as kiln leaves it, there is no keyring yet and the first-boot unit
 *   that makes one (etc/systemd/system/pacman-init.service) is there.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TarPackages } from './measure.ts';

export interface ArchExpectation {
  /** Every package the tree must hold, and no other. */
  packages: string[];
  /** The key that signs the fixture's packages (40 hex digits). */
  keyFingerprint: string;
}

export interface ArchTreeCheck {
  /** What is wrong, or undefined. */
  problem?: string;
  /** Packages in the local database, and how many have all their files. */
  packages?: TarPackages;
}

function pacman(root: string, args: string[]): { code: number; out: string } {
  const r = spawnSync('pacman', ['--root', root, '--dbpath', join(root, 'var/lib/pacman'), '--config', '/dev/null', ...args], { encoding: 'utf8', env: { LC_ALL: 'C', PATH: process.env.PATH } });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

function keyValidity(gnupg: string, fingerprint: string): string | undefined {
  const copy = mkdtempSync(join(tmpdir(), 'kiln-bench-gnupg-'));
  try {
    cpSync(gnupg, copy, { recursive: true, filter: (src) => !/\/S\.[^/]*$/.test(src) });
    const r = spawnSync('gpg', ['--homedir', copy, '--batch', '--no-tty', '--no-auto-check-trustdb', '--with-colons', '--list-keys', fingerprint], { encoding: 'utf8' });
    // pub:VALIDITY:... then fpr:::::::::FINGERPRINT:
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('fpr:') && l.split(':')[9] === fingerprint);
    return at > 0 ? lines[at - 1]?.split(':')[1] : undefined;
  } finally {
    spawnSync('gpgconf', ['--homedir', copy, '--kill', 'all']);
    rmSync(copy, { recursive: true, force: true });
  }
}

export function checkArchTree(root: string, expect: ArchExpectation): ArchTreeCheck {
  if (!existsSync(join(root, 'var/lib/pacman/local'))) return { problem: `${root} has no pacman database` };
  const q = pacman(root, ['-Qq']);
  if (q.code !== 0) return { problem: `pacman -Qq failed: ${q.out.trim()}` };
  const names = q.out.trim().split('\n').filter(Boolean).sort();
  const wanted = [...expect.packages].sort();
  const k = pacman(root, ['-Qk']);
  const whole = k.out.split('\n').filter((l) => / 0 missing files$/.test(l)).length;
  const packages = { packages: names.length, installed: whole };
  if (names.join(' ') !== wanted.join(' ')) {
    const missing = wanted.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !wanted.includes(n));
    return { packages, problem: `pacman -Qq: missing [${missing.join(' ')}], unexpected [${extra.join(' ')}]` };
  }
  if (k.code !== 0 || whole !== names.length) return { packages, problem: `pacman -Qk: ${k.out.split('\n').filter((l) => l && !/ 0 missing files$/.test(l)).slice(0, 3).join('; ')}` };
  const marks = join(root, 'var/lib/kiln-test');
  for (const mark of ['bash-post-install', 'kiln-hook-pre-install', 'kiln-hook-post-install', 'hook-ran']) {
    if (!existsSync(join(marks, mark))) return { packages, problem: `no var/lib/kiln-test/${mark}: a scriptlet or the hook did not run` };
  }
  const hooked = readFileSync(join(marks, 'hook-ran'), 'utf8').trim().split('\n');
  if (!hooked.some((l) => l.startsWith('usr/share/kiln-marks/first'))) return { packages, problem: `the hook saw ${hooked.join(', ')}` };
  const gnupg = join(root, 'etc/pacman.d/gnupg');
  if (!existsSync(gnupg)) {
    const unit = join(root, 'etc/systemd/system/pacman-init.service');
    return existsSync(unit) && /pacman-key --populate/.test(readFileSync(unit, 'utf8')) ? { packages } : { packages, problem: 'no etc/pacman.d/gnupg and no first-boot pacman-init.service' };
  }
  const validity = keyValidity(gnupg, expect.keyFingerprint);
  if (validity !== 'f' && validity !== 'u') return { packages, problem: `etc/pacman.d/gnupg: the packager key ${expect.keyFingerprint} is ${validity === undefined ? 'missing' : `of validity "${validity}", not full`}` };
  return { packages };
}
