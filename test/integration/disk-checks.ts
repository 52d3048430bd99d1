/**
 * Checking disk outputs with other people's tools: sfdisk --json for the
 * table, debugfs and mtools to read filesystems, and a comparison of two
 * partition images that names the first file that differs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a host tool; its stdout (stderr on failure, in the assertion). */
export function tool(command: string, args: string[], opts: { ok?: boolean } = {}): { code: number; out: string; err: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'UTC' } });
  if (opts.ok !== false) assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  bootable?: boolean;
  /** GPT attributes as sfdisk names them (LegacyBIOSBootable, ...). */
  attrs?: string;
}

export function sfdiskJson(image: string): { label: string; id: string; partitions: SfdiskPartition[] } {
  return (JSON.parse(tool('sfdisk', ['--json', image]).out) as { partitiontable: { label: string; id: string; partitions: SfdiskPartition[] } }).partitiontable;
}

const MTOOLS_ENV = { PATH: process.env.PATH, LC_ALL: 'C', TZ: 'UTC', MTOOLS_SKIP_CHECK: '1' };

/** mdir -b of a FAT filesystem's top directory, at `offset` bytes into `disk`: one ::/NAME a line. */
export function fatListing(disk: string, offset: number): string {
  const r = spawnSync('mdir', ['-b', '-i', `${disk}@@${offset}`, '::/'], { encoding: 'utf8', env: MTOOLS_ENV });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** A file of a FAT filesystem at `offset` bytes into `disk` (mcopy), as text. */
export function fatRead(disk: string, offset: number, file: string): string {
  const r = spawnSync('mcopy', ['-n', '-i', `${disk}@@${offset}`, file, '-'], { encoding: 'utf8', env: MTOOLS_ENV });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

export { sha256 } from '../helpers/repro.ts';

/** debugfs's view of one inode: mode, owner, group. */
export function debugfsStat(image: string, path: string): { mode: number; uid: number; gid: number } {
  const out = tool('debugfs', ['-R', `stat ${path}`, image]).out;
  const mode = /Mode:\s+(\d+)/.exec(out);
  const owner = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  assert.ok(mode && owner, `debugfs stat ${path}: ${out}`);
  return { mode: parseInt(mode[1]!, 8), uid: Number(owner[1]), gid: Number(owner[2]) };
}

/** The filesystem's files taken out with its own tools (debugfs rdump, mcopy). */
function extract(image: string, filesystem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fs-dump-'));
  if (filesystem === 'ext4') tool('debugfs', ['-R', `rdump / ${dir}`, image]);
  else if (filesystem === 'vfat') {
    mkdirSync(join(dir, 'fat'));
    tool('mcopy', ['-s', '-p', '-m', '-n', '-i', image, '::/', join(dir, 'fat')], { ok: false });
  }
  return dir;
}

/** Every path below `dir` with what distinguishes it (type, mode, owner, size, content or target, mtime). */
function listing(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(path)}` : st.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex') : '';
    out.set(`${prefix}/${name}`, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${what}`);
    if (st.isDirectory()) for (const [p, v] of listing(path, `${prefix}/${name}`)) out.set(p, v);
  }
  return out;
}

/** Why two images of the same partition differ: the first file that does, or that the files agree (then it is the filesystem's own metadata). */
export function firstDifference(a: string, b: string, filesystem: string): string {
  const [la, lb] = [listing(extract(a, filesystem)), listing(extract(b, filesystem))];
  for (const path of [...new Set([...la.keys(), ...lb.keys()])].sort()) {
    if (la.get(path) !== lb.get(path)) return `first differing file ${path}: ${la.get(path) ?? 'missing'} / ${lb.get(path) ?? 'missing'}`;
  }
  return 'the files agree; the filesystem metadata differs';
}
