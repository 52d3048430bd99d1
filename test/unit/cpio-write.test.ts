/**
 * The newc cpio writer: its bytes read field by field on a tiny tree (header
 * fields, name and data padding, the trailer, inodes in order, hard links,
 * symlink targets as data, the time clamp), the same bytes as GNU cpio's
 * own `-H newc --reproducible` for the same tree, and GNU cpio extracting
 * the owners, modes, links and devices back as root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, createWriteStream, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, truncateSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { writeTreeAsCpio } from '../../src/archive/index.ts';
import { droppedXattrsLine } from '../../src/outputs/cpio.ts';
import { OUTPUTS } from '../../src/outputs/index.ts';
import type { Config } from '../../src/config/index.ts';
import type { Emit } from '../../src/util/events.ts';
import { UserError } from '../../src/util/errors.ts';
import { have, run, tempDir } from '../fixtures/archive-helpers.ts';

const CLAMP = 1_600_000_000;
const OLD = 1_500_000_000;
const isRoot = process.getuid?.() === 0;

interface Parsed {
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  size: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  check: number;
  data: Buffer;
  /** Offset of the header in the archive. */
  at: number;
}

/** An independent newc reader: checks magic and padding as it goes. */
function parseNewc(archive: Buffer): { entries: Parsed[]; end: number } {
  const entries: Parsed[] = [];
  let at = 0;
  for (;;) {
    assert.equal(at % 4, 0, `header at ${at} is 4-byte aligned`);
    assert.equal(archive.toString('latin1', at, at + 6), '070701', `magic at ${at}`);
    const f = (i: number) => {
      const text = archive.toString('latin1', at + 6 + 8 * i, at + 14 + 8 * i);
      assert.match(text, /^[0-9A-F]{8}$/, `field ${i} at ${at} is 8 upper-case hex digits`);
      return parseInt(text, 16);
    };
    const namesize = f(11);
    const name = archive.toString('utf8', at + 110, at + 110 + namesize - 1);
    assert.equal(archive[at + 110 + namesize - 1], 0, `${name} ends with a NUL`);
    let pos = at + 110 + namesize;
    while (pos % 4) assert.equal(archive[pos++], 0, `${name}: name padding is zeros`);
    const size = f(6);
    const data = archive.subarray(pos, pos + size);
    pos += size;
    while (pos % 4) assert.equal(archive[pos++], 0, `${name}: data padding is zeros`);
    const entry = { name, ino: f(0), mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), size, devmajor: f(7), devminor: f(8), rdevmajor: f(9), rdevminor: f(10), check: f(12), data, at };
    entries.push(entry);
    at = pos;
    if (name === 'TRAILER!!!') return { entries, end: at };
  }
}

async function cpioOf(root: string, file: string, clamp = CLAMP): Promise<Buffer> {
  await writeTreeAsCpio(root, createWriteStream(file), { mtimeClamp: clamp });
  return readFileSync(file);
}

/** A tiny tree: a directory, a file, two names of one file, a symlink, a FIFO, a device (as root), an old file, a socket. */
async function tinyTree(root: string): Promise<void> {
  const r = (p: string): string => join(root, p);
  mkdirSync(r('etc/sub'), { recursive: true });
  mkdirSync(r('usr/bin'), { recursive: true });
  writeFileSync(r('etc/hostname'), 'kiln\n'); // 5 bytes: 3 bytes of data padding
  writeFileSync(r('usr/bin/ping'), 'ping-binary');
  linkSync(r('usr/bin/ping'), r('usr/bin/ping6'));
  symlinkSync('usr/bin', r('bin'));
  run('mkfifo', [r('fifo')]);
  if (isRoot) {
    run('mknod', [r('null'), 'c', '1', '3']);
    chownSync(r('etc/hostname'), 1000, 50);
    chmodSync(r('usr/bin/ping'), 0o4755);
  }
  writeFileSync(r('old'), 'old');
  utimesSync(r('old'), 1000, 1000);
  // A bound socket whose file stays (Node removes its own on close): it must be left out.
  run('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', r('socket')]);
}

test('newc bytes: header fields, padding, inodes in order, hard links, symlink targets as data, the clamp, the trailer and 512-byte padding', async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  await tinyTree(root);
  const archive = await cpioOf(root, join(dir, 'out.cpio'));
  const { entries, end } = parseNewc(archive);
  assert.equal(archive.length % 512, 0, 'the archive is padded to 512 bytes');
  assert.ok(archive.length - end < 512 && archive.subarray(end).every((b) => b === 0), 'only zeros after the trailer, less than a block');
  const names = entries.map((e) => e.name);
  const expected = ['.', 'bin', 'etc', 'etc/hostname', 'etc/sub', 'fifo', ...(isRoot ? ['null'] : []), 'old', 'usr', 'usr/bin', 'usr/bin/ping', 'usr/bin/ping6', 'TRAILER!!!'];
  assert.deepEqual(names, expected, 'sorted, "." first, a directory before its contents, no socket');
  const by = Object.fromEntries(entries.map((e) => [e.name, e]));
  const body = entries.slice(0, -1);
  // Inodes from 0 in archive order; the two names of ping share one.
  const inodes = body.map((e) => e.ino);
  const distinct = [...new Set(inodes)];
  assert.deepEqual(distinct, distinct.map((_, i) => i), 'inodes numbered 0, 1, 2... in order');
  assert.equal(by['usr/bin/ping']!.ino, by['usr/bin/ping6']!.ino);
  assert.equal(by['usr/bin/ping']!.nlink, 2);
  assert.equal(by['usr/bin/ping6']!.nlink, 2);
  assert.equal(by['usr/bin/ping']!.size, 0, 'the first name carries no data');
  assert.equal(by['usr/bin/ping6']!.data.toString(), 'ping-binary', 'the last name carries it');
  for (const e of body) assert.ok(e.devmajor === 0 && e.devminor === 0 && e.check === 0, `${e.name}: device 0, check 0`);
  // Directories: 2 + their subdirectories.
  assert.equal(by['.']!.nlink, 4, '. has two subdirectories, etc and usr');
  assert.equal(by['etc']!.nlink, 3);
  assert.equal(by['etc/sub']!.nlink, 2);
  // Types and modes as st_mode, symlink target as data.
  assert.equal(by['etc']!.mode & 0o170000, 0o040000);
  assert.equal(by['bin']!.mode, 0o120777);
  assert.equal(by['bin']!.data.toString(), 'usr/bin');
  assert.equal(by['fifo']!.mode & 0o170000, 0o010000);
  assert.equal(by['etc/hostname']!.data.toString(), 'kiln\n');
  assert.equal(by['etc/hostname']!.size, 5);
  if (isRoot) {
    assert.equal(by['null']!.mode & 0o170000, 0o020000);
    assert.deepEqual([by['null']!.rdevmajor, by['null']!.rdevminor], [1, 3]);
    assert.deepEqual([by['etc/hostname']!.uid, by['etc/hostname']!.gid], [1000, 50]);
    assert.equal(by['usr/bin/ping']!.mode, 0o104755);
  }
  // Times: the build's are clamped, older ones kept.
  assert.equal(by['old']!.mtime, 1000);
  assert.equal(by['etc']!.mtime, CLAMP);
  // Name padding: header (110) + "etc/hostname\0" (13) = 123, padded to 124.
  assert.equal(archive.toString('latin1', by['etc/hostname']!.at + 123, by['etc/hostname']!.at + 124), '\0');
  const trailer = by['TRAILER!!!']!;
  assert.deepEqual([trailer.ino, trailer.mode, trailer.nlink, trailer.size, trailer.mtime], [0, 0, 1, 0, 0]);
});

test('the same bytes as GNU cpio -o -H newc --reproducible writes for the same tree', { skip: have('cpio') ? undefined : 'cpio missing: install cpio' }, async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  await tinyTree(root);
  writeFileSync(join(root, 'big'), Buffer.alloc(3 << 20, 7)); // streamed, not read whole
  run('rm', [join(root, 'socket')]); // GNU cpio would keep a socket; kiln leaves it out
  run('find', [root, '-exec', 'touch', '-h', '-d', `@${OLD}`, '{}', '+']); // older than the clamp: GNU cpio does not clamp
  const ours = await cpioOf(root, join(dir, 'kiln.cpio'));
  const gnu = run('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet'], { cwd: root });
  assert.equal(ours.length, gnu.length);
  assert.ok(ours.equals(gnu), 'byte for byte');
});

test('GNU cpio extracts the tree back: owners, modes, hard links, symlinks, devices', { skip: !have('cpio') ? 'cpio missing: install cpio' : !isRoot ? 'needs root to restore owners and make devices' : undefined }, async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  await tinyTree(root);
  const file = join(dir, 'out.cpio');
  await cpioOf(root, file);
  const listing = run('cpio', ['-itv', '--quiet', '-F', file]).toString();
  assert.match(listing, /^lrwxrwxrwx .* bin -> usr\/bin$/m);
  const out = join(dir, 'out');
  mkdirSync(out);
  run('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', file], { cwd: out });
  const a = lstatSync(join(out, 'usr/bin/ping'));
  const b = lstatSync(join(out, 'usr/bin/ping6'));
  assert.equal(a.ino, b.ino, 'one inode');
  assert.equal(a.nlink, 2);
  assert.equal(readFileSync(join(out, 'usr/bin/ping'), 'utf8'), 'ping-binary');
  assert.equal(a.mode & 0o7777, 0o4755);
  assert.equal(readlinkSync(join(out, 'bin')), 'usr/bin');
  const host = lstatSync(join(out, 'etc/hostname'));
  assert.deepEqual([host.uid, host.gid, host.mode & 0o7777], [1000, 50, 0o644]);
  const dev = lstatSync(join(out, 'null'));
  assert.ok(dev.isCharacterDevice() && dev.rdev === lstatSync(join(root, 'null')).rdev);
  assert.ok(lstatSync(join(out, 'fifo')).isFIFO());
  assert.equal(lstatSync(join(out, 'old')).mtimeMs, 1000_000);
  assert.ok(!existsSync(join(out, 'socket')));
});

test('a file newc cannot hold (4 GiB or more) is one clear error before a byte is written', async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'huge'), '');
  truncateSync(join(root, 'huge'), 2 ** 32); // sparse: no space taken
  const out = new PassThrough();
  let written = 0;
  out.on('data', (b: Buffer) => (written += b.length));
  await assert.rejects(writeTreeAsCpio(root, out), (err: unknown) => err instanceof UserError && /cpio \(newc\) cannot hold \/huge: it is 4294967296 bytes/.test(err.message));
  assert.equal(written, 0);
  assert.ok(out.destroyed, 'the output is closed, not left open');
});

test('extended attributes newc drops are one warning line, whatever the number of paths', () => {
  const xattrs = new Map([
    ['usr/bin/ping', new Map([['security.capability', Buffer.from('01', 'hex')]])],
    ['usr/bin/arping', new Map([['security.capability', Buffer.from('01', 'hex')], ['user.x', Buffer.from('')]])],
    ['etc', new Map()],
  ]);
  assert.equal(droppedXattrsLine(xattrs), 'cpio (newc) cannot hold extended attributes: /usr/bin/arping (security.capability, user.x) and 1 more path lose theirs in the cpio output');
  assert.equal(droppedXattrsLine(new Map([['etc', new Map()]])), undefined);
});

test('cpio and cpio.zst in one build warn about the dropped extended attributes once', async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'ping'), 'ping');
  const lines: string[] = [];
  const tree = { xattrs: async () => new Map([['ping', new Map([['security.capability', Buffer.from('01', 'hex')]])]]) };
  const base = { root, made: {}, sourceDateEpoch: CLAMP, rootOnTmpfs: false, tree, config: {} as Config, machine: 'x86_64' as const, architecture: 'amd64', seed: 's', imageDir: root };
  const emit: Emit = (e) => {
    if (e.kind === 'log' && e.level === 'warn') lines.push(e.message);
  };
  await OUTPUTS.cpio.write({ ...base, tmp: join(dir, 'image.cpio'), emit });
  await OUTPUTS['cpio.zst'].write({ ...base, tmp: join(dir, 'image.cpio.zst'), emit });
  assert.deepEqual(lines, ['cpio (newc) cannot hold extended attributes: /ping (security.capability) lose theirs in the cpio output']);
  // Another build (other tree facts) is warned again.
  await OUTPUTS.cpio.write({ ...base, tree: { xattrs: tree.xattrs }, tmp: join(dir, 'again.cpio'), emit });
  assert.equal(lines.length, 2);
});

test('a cpio.zst that cannot be written stops its compressor too', async (t) => {
  const dir = tempDir(t, 'cpio');
  const root = join(dir, 'root');
  mkdirSync(root);
  writeFileSync(join(root, 'huge'), '');
  truncateSync(join(root, 'huge'), 2 ** 32);
  const base = { root, made: {}, sourceDateEpoch: CLAMP, rootOnTmpfs: false, tree: { xattrs: async () => new Map() }, config: {} as Config, machine: 'x86_64' as const, architecture: 'amd64', seed: 's', imageDir: root, emit: () => {} };
  await assert.rejects(OUTPUTS['cpio.zst'].write({ ...base, tmp: join(dir, 'image.cpio.zst') }), UserError);
  // Generous bound: the compressor is stopped at once, not left waiting for input.
  const zstdChildren = () => spawnSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout.split('\n').filter((c) => c === 'zstd');
  for (let i = 0; i < 100 && zstdChildren().length > 0; i++) await new Promise((ok) => setTimeout(ok, 100));
  assert.deepEqual(zstdChildren(), [], 'no zstd left running');
});
