/**
 * A squashfs image (kiln's `squashfs` output, or a partition of a disk) as a
 * listing, never mounted or extracted: `unsquashfs -pf` writes the image as
 * a pseudo file on its stdout, one line per path (full-second time, mode,
 * numeric owner, size and data offset, symlink target, device numbers, hard
 * links as `L`), then every regular file's bytes in offset order, which are
 * hashed as they stream past. A partition is read in place (`-o OFFSET`).
 * unsquashfs 4.5 lists no extended attributes: they are marked unread, not
 * compared. A name holding a newline comes as two lines and is joined again.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BuildError } from '../util/errors.ts';
import { DatabaseCopy, isDatabasePath } from './package-database.ts';
import type { DiffEntry, InputReader, ListedInput, Listing } from './types.ts';

const UNREAD = ['xattrs'] as const;
const DATA_MARK = '#\n# START OF DATA - DO NOT MODIFY\n#\n';

/** Is there a squashfs superblock (`hsqs`) at `offset`? */
export async function isSquashfs(file: string, offset = 0): Promise<boolean> {
  const fd = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fd.read(b, 0, 4, offset);
    return bytesRead === 4 && b.toString('latin1') === 'hsqs';
  } finally {
    await fd.close();
  }
}

/** Runs unsquashfs on the image at `offset` of `file`; `onStdout` reads what it writes. */
function unsquashfs(file: string, offset: number, args: string[], onStdout: (stdout: Readable) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    // Node's stdout is a socket, which unsquashfs cannot open as /dev/stdout: a pipe through cat is one it can.
    // -da/-fr: 16 MB data and fragment queues, not 256 MB each (what would make unsquashfs the biggest part of kiln diff's memory).
    const command = ['unsquashfs', '-n', '-da', '16', '-fr', '16', ...(offset ? ['-o', String(offset)] : []), ...args];
    const child = spawn('bash', ['-o', 'pipefail', '-c', '"$@" | cat', 'bash', ...command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 4096) stderr += b.toString('utf8');
    });
    child.once('error', (err) => reject(new BuildError(`cannot run unsquashfs: ${err.message}`, 'install squashfs-tools', { cause: err })));
    const reading = onStdout(child.stdout);
    child.once('close', (code) => {
      reading.then(() => (code === 0 ? resolve() : reject(new BuildError(`unsquashfs ${file} failed (exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' ')}`))), reject);
    });
  });
}

/** Splits a pseudo-file name (spaces, quotes and backslashes escaped with `\`) from the rest of its line. */
function splitName(line: string): [string, string] | undefined {
  let name = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) name += line[++i];
    else if (c === ' ') return [name, line.slice(i + 1)];
    else name += c;
  }
  return undefined;
}

interface Parsed {
  entry: DiffEntry;
  /** A regular file's data offset, or the path a hard link names. */
  offset?: number;
  linkTo?: string;
}

const FIELDS = /^([DRSBCI]) (\d+) ([0-7]+) (\d+) (\d+)(?: (.*))?$/s;

/** One pseudo-file line as an entry; undefined when it does not parse (the first half of a name with a newline), null for a socket. */
export function parsePseudoLine(line: string): Parsed | null | undefined {
  const split = splitName(line);
  if (!split) return undefined;
  const path = split[0] === '/' ? '.' : split[0].replace(/^\/+/, '');
  const rest = split[1];
  const link = /^L (.+)$/s.exec(rest);
  if (link) {
    const to = splitName(`${link[1]} `)?.[0];
    return to === undefined ? undefined : { entry: { path, type: 'file', mode: 0, uid: 0, gid: 0, mtime: 0, size: 0, xattrs: '', unread: UNREAD }, linkTo: to.replace(/^\/+/, '') };
  }
  const m = FIELDS.exec(rest);
  if (!m) return undefined;
  const [, kind, time, mode, uid, gid, more = ''] = m as unknown as [string, string, string, string, string, string, string | undefined];
  const entry: DiffEntry = { path, type: 'dir', mode: Number.parseInt(mode, 8) & 0o7777, uid: Number(uid), gid: Number(gid), mtime: Number(time), size: 0, xattrs: '', unread: UNREAD };
  if (kind === 'D') return { entry };
  if (kind === 'S') return { entry: { ...entry, type: 'symlink', target: more } };
  if (kind === 'I') return more === 'f' ? { entry: { ...entry, type: 'fifo' } } : null;
  const nums = more.split(' ').map(Number);
  if (kind === 'R' && nums.length === 2) return { entry: { ...entry, type: 'file', size: nums[0] as number }, offset: nums[1] as number };
  if ((kind === 'B' || kind === 'C') && nums.length === 2) return { entry: { ...entry, type: kind === 'B' ? 'block' : 'char', device: `${nums[0]},${nums[1]}` } };
  return undefined;
}

/**
 * Streams `unsquashfs -pf` of the image: the listing first, then each regular
 * file's bytes to `each` (in offset order; undefined marks a file's end).
 */
async function readPseudo(file: string, offset: number, onListed: (parsed: Parsed[]) => void, each: (file: Parsed, piece: Buffer | undefined) => void): Promise<void> {
  await unsquashfs(file, offset, ['-pf', '/dev/stdout', file], async (stdout) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    let files: Parsed[] = [];
    let index = 0;
    let left = -1;
    const take = (chunk: Buffer) => {
      while (index < files.length) {
        if (left < 0) left = (files[index] as Parsed).entry.size;
        if (left === 0) {
          each(files[index++] as Parsed, undefined);
          left = -1;
          continue;
        }
        if (!chunk.length) return;
        const n = Math.min(left, chunk.length);
        each(files[index] as Parsed, chunk.subarray(0, n));
        chunk = chunk.subarray(n);
        left -= n;
      }
    };
    for await (const chunk of stdout) {
      if (!head) {
        take(chunk as Buffer);
        continue;
      }
      head = Buffer.concat([head, chunk as Buffer]);
      const at = head.indexOf(DATA_MARK);
      if (at < 0) continue;
      const parsed = parseListing(head.subarray(0, at).toString('utf8'));
      onListed(parsed);
      files = parsed.filter((p) => p.offset !== undefined).sort((x, y) => (x.offset as number) - (y.offset as number));
      const rest = head.subarray(at + DATA_MARK.length);
      head = undefined;
      take(rest);
    }
    if (head) throw new BuildError(`unsquashfs -pf ${file}: no data section in its output`);
    if (index < files.length) throw new BuildError(`unsquashfs -pf ${file}: the contents of ${files.length - index} files were cut short`);
  });
}

function parseListing(text: string): Parsed[] {
  const out: Parsed[] = [];
  let carried = '';
  for (const line of text.split('\n')) {
    if (!carried && !line) continue;
    const whole = carried ? `${carried}\n${line}` : line;
    const parsed = parsePseudoLine(whole);
    if (parsed === undefined) {
      carried = whole;
      continue;
    }
    carried = '';
    if (parsed) out.push(parsed);
  }
  if (carried) throw new BuildError(`unsquashfs -pf: cannot read the line ${JSON.stringify(carried.slice(0, 200))}`);
  return out;
}

/** Lists the squashfs at `offset` of `file`; database files are copied into `db`. */
export async function listSquashfs(file: string, offset: number, db: DatabaseCopy): Promise<Listing> {
  const listing: Listing = new Map();
  let hash = createHash('sha256');
  let kept: Buffer[] | undefined;
  const links: Parsed[] = [];
  await readPseudo(
    file,
    offset,
    (parsed) => {
      for (const p of parsed) (p.linkTo === undefined ? listing.set(p.entry.path, p.entry) : links.push(p));
    },
    (f, piece) => {
      if (piece) {
        hash.update(piece);
        if (isDatabasePath(f.entry.path)) (kept ??= []).push(Buffer.from(piece));
        return;
      }
      f.entry.sha256 = hash.digest('hex');
      if (isDatabasePath(f.entry.path)) db.add(f.entry.path, kept ? Buffer.concat(kept) : Buffer.alloc(0));
      hash = createHash('sha256');
      kept = undefined;
    },
  );
  // A hard link is listed as the file it names (as a tar's is).
  for (const l of links) {
    const to = listing.get(l.linkTo as string);
    if (to?.type !== 'file') throw new BuildError(`unsquashfs -pf ${file}: ${l.entry.path} links to ${l.linkTo}, which it does not list as a file`);
    listing.set(l.entry.path, { ...to, path: l.entry.path });
  }
  return listing;
}

/** The contents of some regular files of a listed squashfs (at most `maxBytes` each): one `unsquashfs -cat` per file. */
async function readSquashfsFiles(file: string, offset: number, listing: Listing, wanted: ReadonlySet<string>, maxBytes: number): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const path of wanted) {
    const e = listing.get(path);
    if (e?.type !== 'file' || e.size > maxBytes) continue;
    const chunks: Buffer[] = [];
    await unsquashfs(file, offset, ['-no-wildcards', '-cat', file, path], async (stdout) => {
      for await (const c of stdout) chunks.push(c as Buffer);
    });
    out.set(path, Buffer.concat(chunks));
  }
  return out;
}

/** A squashfs at `offset` of `file` as a ListedInput (a disk's partition, or the whole file). */
export async function listSquashfsInput(file: string, offset: number): Promise<ListedInput> {
  const db = new DatabaseCopy();
  try {
    const listing = await listSquashfs(file, offset, db);
    return { listing, databaseRoot: db.root, readFiles: (wanted, maxBytes) => readSquashfsFiles(file, offset, listing, wanted, maxBytes), dispose: () => db.dispose() };
  } catch (err) {
    await db.dispose();
    throw err;
  }
}

export const squashfsReader: InputReader = {
  name: 'squashfs image',
  recognises: async (path, head, isDirectory) => !isDirectory && head.length >= 4 && head.toString('latin1', 0, 4) === 'hsqs',
  list: (file) => listSquashfsInput(file, 0),
};
