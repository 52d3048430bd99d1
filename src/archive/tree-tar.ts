/**
 * A directory tree written as a deterministic tar: byte-wise sorted,
 * `./`-relative, real ids and modes, clamped times, xattrs from a map
 * (Node cannot read xattrs; `readXattrs` gets them all with one getfattr run).
 */
import { spawn } from 'node:child_process';
import { createReadStream, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { CommandError } from '../util/errors.ts';
import { missingTool } from './errors.ts';
import { TarWriter } from './tar-write.ts';
import { inodeKey, major, minor, readSmall, walkTree } from './tree-walk.ts';
import type { TarEntry } from './types.ts';

export { sortBytewise } from './tree-walk.ts';

/** Extended attributes by path relative to the root (`.` for the root itself, no `./` prefix). */
export type XattrMap = Map<string, Map<string, Buffer>>;

export interface TreeTarOptions {
  /** Times newer than this (seconds) are written as this. */
  mtimeClamp?: number;
  xattrs?: XattrMap;
  /** Called with each path (relative, '' for the root) before it is written; it may throw to stop the archive. */
  onPath?: (rel: string) => void;
}

/** Files up to this size are read whole; larger ones are streamed. */
const READ_WHOLE = 1 << 20;

/** Writes the tree at `root` to `out` as a tar and ends `out`. */
export async function writeTreeAsTar(root: string, out: Writable, opts: TreeTarOptions = {}): Promise<void> {
  const writer = new TarWriter(out);
  const seen = new Map<string, string>();
  const clamp = opts.mtimeClamp;
  const noXattrs = new Map<string, Buffer>();

  await walkTree(root, async ({ rel, abs, st, type }) => {
    opts.onPath?.(rel);
    let mtime = Math.floor(st.mtimeMs / 1000);
    if (clamp !== undefined && mtime > clamp) mtime = clamp;
    const entry: TarEntry = {
      path: rel === '' ? './' : `./${rel}`,
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      uname: '',
      gname: '',
      mtime,
      size: 0,
      xattrs: opts.xattrs?.get(rel === '' ? '.' : rel) ?? noXattrs,
    };
    if (type !== 'dir' && st.nlink > 1) {
      const key = inodeKey(abs, st);
      const first = seen.get(key);
      if (first !== undefined) {
        await writer.add({ ...entry, type: 'hardlink', linkpath: first });
        return;
      }
      seen.set(key, entry.path);
    }
    switch (type) {
      case 'file':
        if (st.size <= READ_WHOLE) {
          const data = readSmall(abs, st.size);
          await writer.add({ ...entry, size: data.length }, data);
        } else {
          await writer.add({ ...entry, size: st.size }, createReadStream(abs, { highWaterMark: READ_WHOLE }));
        }
        return;
      case 'symlink':
        await writer.add({ ...entry, linkpath: readlinkSync(abs) });
        return;
      case 'char':
      case 'block':
        await writer.add({ ...entry, devmajor: major(st.rdev), devminor: minor(st.rdev) });
        return;
      case 'fifo':
      case 'dir':
        await writer.add(entry);
    }
  });
  await writer.finish();
}

/** Turns getfattr's `\ooo` escapes back into bytes. */
function unescapeOctal(raw: Buffer): Buffer {
  if (!raw.includes(0x5c)) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.toString('latin1', i + 1, i + 4))) {
      out.push(parseInt(raw.toString('latin1', i + 1, i + 4), 8));
      i += 3;
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
}

/** Parses `getfattr -d -e hex --absolute-names` output into a map by path relative to `root`. */
export function parseGetfattr(output: Buffer, root: string): XattrMap {
  const result: XattrMap = new Map();
  const base = root === '/' ? '/' : `${root}/`;
  let current: Map<string, Buffer> | undefined;
  let start = 0;
  while (start < output.length) {
    let end = output.indexOf(0x0a, start);
    if (end < 0) end = output.length;
    const line = output.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
    } else if (line.toString('latin1', 0, 8) === '# file: ') {
      const path = unescapeOctal(line.subarray(8)).toString('utf8');
      const rel = path === root ? '.' : path.startsWith(base) ? path.slice(base.length) : undefined;
      if (rel === undefined) throw new Error(`getfattr printed a path outside ${root}: ${path}`);
      current = new Map();
      result.set(rel, current);
    } else if (current) {
      const eq = line.lastIndexOf(0x3d);
      const name = unescapeOctal(eq < 0 ? line : line.subarray(0, eq)).toString('utf8');
      const value = eq < 0 ? '' : line.toString('latin1', eq + 1);
      if (value !== '' && !/^0x([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`unexpected getfattr value for ${name}: ${value}`);
      current.set(name, Buffer.from(value.slice(2), 'hex'));
    }
  }
  return result;
}

/** Reads every extended attribute under `root` (symlinks not followed) with one getfattr run. */
export async function readXattrs(root: string): Promise<XattrMap> {
  const top = resolve(root);
  const args = ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', top];
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    const child = spawn('getfattr', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    child.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT' ? missingTool('getfattr', 'attr', err) : err));
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => errs.push(c));
    child.on('close', (code, signal) => done({ code, signal }));
  });
  if (status.code !== 0) {
    const tail = Buffer.concat(errs).toString('utf8').split('\n').filter(Boolean).slice(-20);
    throw new CommandError(`getfattr ${args.join(' ')}`, status.code, status.signal, tail);
  }
  return parseGetfattr(Buffer.concat(chunks), top);
}
