/**
 * The single-filesystem outputs of a real Debian bookworm amd64 minimal tree
 * (with iputils-ping, for its capability), built as the unprivileged test
 * user: ext4 checked with e2fsck and debugfs, erofs and squashfs listed by
 * their own tools against the tar, the directory output's times clamped,
 * and a second build (another image directory, the tree made again from
 * the start) giving the same bytes. On a difference the test names the
 * output and the first file that differs. btrfs is not built: it is not
 * reproducible upstream (the README says so; its unit test names it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { imageDir, integrationSkipReason, isRoot, kiln } from '../helpers/kiln.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(
  integrationSkipReason() ??
    (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
    (isRoot ? undefined : 'reading the images back with owners needs root') ??
    missingTools(['blkid', 'mke2fs', 'e2fsck', 'debugfs', 'dumpe2fs', 'mkfs.erofs', 'fsck.erofs', 'mksquashfs', 'unsquashfs']),
);

const FORMATS = ['directory', 'tar', 'ext4', 'erofs', 'squashfs'];
const REPRODUCIBLE = ['tar', 'ext4', 'erofs', 'squashfs'] as const;
const toml = `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirror}"\n\n[packages]\nbase = "minimal"\ninstall = ["iputils-ping"]\n\n[output]\nformat = ${JSON.stringify(FORMATS)}\n`;

function sh(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** "path uid/gid" of every entry in a `tar -tvv`/`unsquashfs -lln` style listing, paths made absolute ("/", "/etc"). */
function ownersOf(listing: string, prefix: RegExp): string[] {
  const out: string[] = [];
  for (const line of listing.split('\n')) {
    const m = /^\S+ (\d+)\/(\d+)\s+(?:\d+,\s*\d+|\d+) \d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? (.*)$/.exec(line);
    if (!m) continue;
    const path = m[3]!.replace(/ -> .*$/, '').replace(/ link to .*$/, '').replace(prefix, '').replace(/\/$/, '');
    out.push(`/${path} ${m[1]}/${m[2]}`.replace(/^\/\//, '/'));
  }
  return out.sort();
}

/** Every entry below `dir` as "path type mode uid:gid mtime size sha256/target", in order: to find the first file two images differ in. */
function describeEntries(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    const abs = rel === '' ? dir : join(dir, rel);
    const st = lstatSync(abs);
    let what = '';
    if (st.isFile()) what = `${st.size} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    else if (st.isSymbolicLink()) what = readlinkSync(abs);
    out.push(`/${rel} ${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} ${what}`);
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(rel === '' ? name : `${rel}/${name}`);
  };
  visit('');
  return out;
}

/** Unpacks a filesystem image with its own tool into `into`/root (as root, owners kept). */
function unpack(format: string, image: string, into: string): void {
  const root = join(into, 'root');
  if (format === 'erofs') return void sh('fsck.erofs', [`--extract=${root}`, '--preserve', image]);
  if (format === 'squashfs') return void sh('unsquashfs', ['-q', '-n', '-d', root, image]);
  mkdirSync(root, { recursive: true });
  if (format === 'ext4') sh('debugfs', ['-R', `rdump / ${root}`, image]);
  else sh('tar', ['--xattrs', '--numeric-owner', '-xpf', image, '-C', root]);
}

/** The first entry two images of `format` differ in, by their own tools' unpacking. */
function firstDifference(format: string, a: string, b: string): string {
  const work = mkdtempSync(join(tmpdir(), 'kiln-fsdiff-'));
  try {
    return compareUnpacked(format, a, b, work);
  } catch (err) {
    return `could not unpack them to compare: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function compareUnpacked(format: string, a: string, b: string, work: string): string {
  unpack(format, a, join(work, 'a'));
  unpack(format, b, join(work, 'b'));
  const [la, lb] = [describeEntries(join(work, 'a', 'root')), describeEntries(join(work, 'b', 'root'))];
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return `first differing entry:\n  ${la[i]}\n  ${lb[i]}`;
  return 'every file, owner, mode and mtime agrees: the difference is in metadata the listing does not show';
}

describe('single-filesystem outputs of Debian bookworm amd64 minimal', { skip }, () => {
  let first: string;
  let second: string;
  let builds: { code: number; stderr: string }[] = [];
  const out = (dir: string, format: string) => join(dir, 'out', format === 'directory' ? 'image' : `image.${format}`);

  before(async () => {
    first = imageDir(toml);
    builds = [await kiln(['build', '-C', first])];
    second = imageDir(toml);
    if (builds[0]!.code === 0) builds.push(await kiln(['build', '-C', second, '--rebuild']));
  });
  after(() => {
    for (const dir of [first, second]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the build succeeds with every output', () => {
    assert.equal(builds[0]?.code, 0, builds[0]?.stderr);
    for (const format of FORMATS) assert.ok(lstatSync(out(first, format)), format);
  });

  test('ext4: e2fsck clean; /etc/shadow 0640 root:shadow, passwd setuid root, ping has security.capability', () => {
    const image = out(first, 'ext4');
    sh('e2fsck', ['-fn', image]);
    const stat = (path: string) => sh('debugfs', ['-R', `stat ${path}`, image]);
    assert.match(stat('/etc/shadow'), /Mode:\s+0640/);
    assert.match(stat('/etc/shadow'), /User:\s+0\s+Group:\s+42\b/);
    assert.match(stat('/usr/bin/passwd'), /Mode:\s+04755/);
    assert.match(stat('/usr/bin/passwd'), /User:\s+0\s+Group:\s+0\b/);
    assert.match(sh('debugfs', ['-R', 'ea_list /usr/bin/ping', image]), /security\.capability/);
  });

  test('ext4: the auto size fits the tree with its headroom and is not wildly above what it uses', (t) => {
    const image = out(first, 'ext4');
    const header = sh('dumpe2fs', ['-h', image]);
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(header)?.[1]);
    const used = (field('Block count') - field('Free blocks')) * 4096;
    const size = lstatSync(image).size;
    const needed = size / 1.2; // filesystem.headroom's default: 20%
    const du = Number(sh('du', ['-s', '-B1', out(first, 'directory')]).split('\t')[0]);
    t.diagnostic(`ext4: image ${size}, neededSize ${Math.round(needed)}, used ${used}, du of the tree ${du}`);
    assert.ok(used <= needed, `the tree used ${used} bytes, more than neededSize (${Math.round(needed)})`);
    assert.ok(needed <= 2 * du, `neededSize ${Math.round(needed)} is more than twice du's ${du}`);
  });

  test('erofs and squashfs list the same paths with the same owners as the tar', () => {
    const tar = ownersOf(sh('tar', ['-tvv', '--numeric-owner', '-f', out(first, 'tar')]), /^\.\/?/);
    assert.ok(tar.length > 1000, `${tar.length} entries in the tar`);
    assert.deepEqual(ownersOf(sh('unsquashfs', ['-lln', out(first, 'squashfs')]), /^squashfs-root\/?/), tar);
    const x = mkdtempSync(join(tmpdir(), 'kiln-erofs-'));
    try {
      sh('fsck.erofs', [`--extract=${x}/root`, '--preserve', out(first, 'erofs')]);
      const found = sh('sh', ['-c', 'cd "$1" && find . -printf "%p %U/%G\\n"', 'sh', `${x}/root`]);
      assert.deepEqual(found.trim().split('\n').map((l) => l.replace(/^\.\/?/, '/')).sort(), tar);
    } finally {
      rmSync(x, { recursive: true, force: true });
    }
  });

  test('the manifest gives each filesystem output its UUID, as blkid reads it from the image', () => {
    const manifest = JSON.parse(readFileSync(join(first, 'out/image.manifest.json'), 'utf8')) as { outputs: { format: string; details?: { filesystem?: string; uuid?: string; size?: number } }[] };
    for (const format of ['ext4', 'erofs']) {
      const details = manifest.outputs.find((o) => o.format === format)?.details;
      assert.equal(details?.filesystem, format);
      assert.equal(details?.size, lstatSync(out(first, format)).size);
      assert.equal(details?.uuid, sh('blkid', ['-p', '-o', 'value', '-s', 'UUID', out(first, format)]).trim(), format);
    }
  });

  test('the directory output has no mtime newer than SOURCE_DATE_EPOCH', () => {
    const manifest = JSON.parse(readFileSync(join(first, 'out/image.manifest.json'), 'utf8')) as { sourceDateEpoch: number };
    const newer = sh('find', [out(first, 'directory'), '-newermt', `@${manifest.sourceDateEpoch}`]).trim();
    assert.equal(newer, '', `paths newer than SOURCE_DATE_EPOCH ${manifest.sourceDateEpoch}:\n${newer.split('\n').slice(0, 20).join('\n')}`);
  });

  test('a second build, in another directory with the tree made again, gives the same bytes for tar, ext4, erofs and squashfs', async () => {
    assert.equal(builds[1]?.code, 0, builds[1]?.stderr);
    const differences: string[] = [];
    for (const format of REPRODUCIBLE) {
      const [a, b] = [out(first, format), out(second, format)];
      if ((await sha256(a)) !== (await sha256(b))) differences.push(`${format} differs; ${firstDifference(format, a, b)}`);
    }
    assert.deepEqual(differences, []);
  });
});
