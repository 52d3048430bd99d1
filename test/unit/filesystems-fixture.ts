/**
 * A small tree for the filesystem makers' tests, made the same way every
 * time (owners, modes and mtimes set explicitly, so the umask and the clock
 * leave only atimes and ctimes different): nested directories, a setuid
 * file, a file with a security.capability, a hard link, a symlink and,
 * unless `regularOnly`, a FIFO and a character device. `reversed` creates
 * the entries in the opposite order (so that, on a tmpfs, readdir order
 * differs too).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EPOCH = 1_700_000_000;

export interface FixtureOptions {
  reversed?: boolean;
  regularOnly?: boolean;
  umask?: number;
  /** Where to make it (default: the temporary directory); a tmpfs lists names in creation order, unlike ext4's hash order. */
  parent?: string;
}

/** A tmpfs to make the second copy on, where there is one. */
export const TMPFS = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

type Entry = [path: string, make: (abs: string) => void, mode: number, uid: number, gid: number];

function entries(regularOnly: boolean): Entry[] {
  const file = (text: string) => (abs: string) => writeFileSync(abs, text);
  const list: Entry[] = [
    ['etc', mkdirSync, 0o755, 0, 0],
    ['etc/shadow', file('root:*:19000:0:99999:7:::\n'), 0o640, 0, 42],
    ['etc/hostname', file('kiln\n'), 0o644, 0, 0],
    ['usr', mkdirSync, 0o755, 0, 0],
    ['usr/bin', mkdirSync, 0o755, 0, 0],
    ['usr/bin/passwd', file('#!/bin/sh\necho passwd\n'), 0o4755, 0, 0],
    ['usr/bin/ping', file('#!/bin/sh\necho ping\n'), 0o755, 0, 0],
    ['usr/share', mkdirSync, 0o755, 0, 0],
    ['usr/share/big', file('0123456789abcdef'.repeat(20_000)), 0o644, 0, 0],
    ['home', mkdirSync, 0o755, 0, 0],
    ['home/user', mkdirSync, 0o700, 1000, 1000],
    ['home/user/notes.txt', file('hello\n'), 0o600, 1000, 1000],
  ];
  for (let i = 0; i < 40; i++) list.push([`usr/share/file-${String(i).padStart(2, '0')}`, file(`file ${i}\n`), 0o644, 0, 0]);
  if (!regularOnly) {
    list.push(['usr/bin/passwd-link', (abs) => linkSync(abs.replace(/-link$/, ''), abs), 0o4755, 0, 0]);
    list.push(['usr/bin/sh', (abs) => symlinkSync('passwd', abs), 0o777, 0, 0]);
    list.push(['run', mkdirSync, 0o755, 0, 0]);
    list.push(['run/initctl', (abs) => execFileSync('mkfifo', [abs]), 0o600, 0, 0]);
    list.push(['dev', mkdirSync, 0o755, 0, 0]);
    list.push(['dev/null', (abs) => execFileSync('mknod', [abs, 'c', '1', '3']), 0o666, 0, 0]);
  }
  return list;
}

/** Makes the fixture in a new temporary directory and returns its path. */
export function makeFixture(opts: FixtureOptions = {}): string {
  const old = process.umask(opts.umask ?? 0o022);
  try {
    const root = mkdtempSync(join(opts.parent ?? tmpdir(), 'kiln-fs-fixture-'));
    const list = entries(opts.regularOnly ?? false);
    // Parents must come first: reverse within the order of depth.
    const ordered = opts.reversed ? [...list].sort((a, b) => a[0].split('/').length - b[0].split('/').length).reverse().sort((a, b) => a[0].split('/').length - b[0].split('/').length) : list;
    // Hard links after what they link to.
    const isLink = (path: string) => path.endsWith('-link');
    for (const [path, make] of ordered) if (!isLink(path)) make(join(root, path));
    for (const [path, make] of ordered) if (isLink(path)) make(join(root, path));
    for (const [path, , mode, uid, gid] of list) {
      const abs = join(root, path);
      if (path !== 'usr/bin/sh') {
        chownSync(abs, uid, gid);
        chmodSync(abs, mode);
      }
    }
    chmodSync(root, 0o755);
    execFileSync('setcap', ['cap_net_raw+ep', join(root, 'usr/bin/ping')]);
    // mtimes: a fixed one each, one newer than the epoch (the makers clamp it); directories last.
    for (const [path] of [...list].reverse()) {
      const t = path === 'etc/hostname' ? EPOCH + 5000 : EPOCH - 1000 - path.length;
      lutimesSync(join(root, path), t, t);
    }
    lutimesSync(root, EPOCH - 10, EPOCH - 10);
    return root;
  } finally {
    process.umask(old);
  }
}

/** Every entry below `dir` as "path type mode uid:gid size/target/rdev", sorted: for comparing a tree with one a tool extracted. */
export function describeTree(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const abs = rel === '' ? dir : join(dir, rel);
    const st = lstatSync(abs);
    const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : 'b';
    const what = st.isFile() ? String(st.size) : st.isSymbolicLink() ? readlinkSync(abs) : st.isCharacterDevice() || st.isBlockDevice() ? String(st.rdev) : '';
    out.push(`/${rel} ${type} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(rel === '' ? name : `${rel}/${name}`);
  };
  visit('');
  return out;
}
