/**
 * Pins the apk fixture's bytes to what the format documents say (apk-v2(5),
 * the Alpine wiki's Apk spec, abuild-tar/abuild-sign's behaviour), checked
 * with tools independent of the generator where there are any: python3's
 * zlib splits the gzip members, the host's openssl verifies signatures,
 * GNU tar and gzip read the files. The repository is made from stand-in
 * bytes for busybox and musl (the format does not care), so no mirror is
 * needed.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { APK_EPOCH, makeApkKey, signerOf, writeApkRepo, type ApkBuilt } from '../helpers/apk-fixture.ts';
import { apkSpecs } from '../helpers/apk-fixture-specs.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-apk-format-'));
let packages: ApkBuilt[] = [];
let keyName = '';
const pub = join(dir, 'key.pem');

/** The gzip members of a file, split by python3's zlib (not by the generator's code). */
function members(file: string): Buffer[] {
  const script = [
    'import sys, zlib, json',
    'data = open(sys.argv[1], "rb").read()',
    'out = []',
    'while data:',
    '    d = zlib.decompressobj(31)',
    '    d.decompress(data)',
    '    if not d.eof: raise SystemExit("truncated gzip member")',
    '    used = len(data) - len(d.unused_data)',
    '    out.append(used)',
    '    data = d.unused_data',
    'print(json.dumps(out))',
  ].join('\n');
  const sizes = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as number[];
  const bytes = readFileSync(file);
  let at = 0;
  return sizes.map((n) => bytes.subarray(at, (at += n)));
}

const gunzip = (member: Buffer) => execFileSync('gzip', ['-dc'], { input: member, maxBuffer: 1 << 28 });

interface RawEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  magic: string;
  size: number;
  body: Buffer;
}

/** Walks tar headers; `end` is where the walk stopped: at the first all-zero block, or at the end of the bytes. */
function walk(tar: Buffer): { entries: RawEntry[]; end: number } {
  const entries: RawEntry[] = [];
  let at = 0;
  const str = (b: Buffer) => b.toString('utf8').replace(/\0.*$/s, '');
  const num = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  while (at + 512 <= tar.length) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
    assert.equal(num(h.subarray(148, 156)), sum, `header checksum at ${at}`);
    const prefix = str(h.subarray(345, 500));
    const name = (prefix ? `${prefix}/` : '') + str(h.subarray(0, 100));
    const size = num(h.subarray(124, 136));
    const body = tar.subarray(at + 512, at + 512 + size);
    entries.push({ name, type: String.fromCharCode(h[156] as number), mode: num(h.subarray(100, 108)), uid: num(h.subarray(108, 116)), gid: num(h.subarray(116, 124)), uname: str(h.subarray(265, 297)), gname: str(h.subarray(297, 329)), mtime: num(h.subarray(136, 148)), magic: h.subarray(257, 265).toString('binary'), size, body });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return { entries, end: at };
}

const paxRecords = (body: Buffer) => Object.fromEntries(body.toString('utf8').split('\n').filter(Boolean).map((l) => { const [, kv] = /^\d+ (.*)$/.exec(l) ?? []; const i = (kv ?? '').indexOf('='); return [(kv ?? '').slice(0, i), (kv ?? '').slice(i + 1)]; }));
const repoFile = (name: string) => join(dir, 'repo', name);
const pkg = (name: string) => packages.find((p) => p.name === name) as ApkBuilt;

before(async () => {
  const key = makeApkKey('kiln-format');
  keyName = key.info.name;
  writeFileSync(pub, key.info.pem);
  const fake = (what: string) => Buffer.from(`\x7fELF stand-in for ${what}\n`.repeat(50));
  const specs = apkSpecs('x86_64', { busybox: fake('busybox'), musl: fake('musl') }, key.info);
  packages = await writeApkRepo(join(dir, 'repo'), specs, signerOf(key.info, key.secretPem));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('apk fixture: package bytes', () => {
  it('a signed package is three gzip members (signature, control, data) at the offsets the generator reports', () => {
    for (const p of packages) {
      const ms = members(repoFile(p.filename));
      assert.equal(ms.length, 3, p.filename);
      let at = 0;
      assert.deepEqual(ms.map((m) => ((at += m.length), at - m.length)), p.members, p.filename);
    }
  });

  it('the signature member is one .SIGN.RSA.KEY (SHA1) or .SIGN.RSA256.KEY entry with no end-of-archive blocks, and openssl verifies it over the control member', () => {
    for (const name of ['busybox', 'hello']) {
      const [sig, control] = members(repoFile(pkg(name).filename)) as [Buffer, Buffer];
      const tar = gunzip(sig);
      const { entries, end } = walk(tar);
      assert.equal(end, tar.length, 'nothing after the signature entry: no end-of-archive blocks');
      assert.equal(entries.length, 1);
      const kind = name === 'hello' ? 'RSA256' : 'RSA';
      assert.equal(entries[0]?.name, `.SIGN.${kind}.${keyName}`);
      writeFileSync(join(dir, 'sig'), entries[0]?.body as Buffer);
      writeFileSync(join(dir, 'control.gz'), control);
      const out = execFileSync('openssl', ['dgst', kind === 'RSA' ? '-sha1' : '-sha256', '-verify', pub, '-signature', join(dir, 'sig'), join(dir, 'control.gz')], { encoding: 'utf8' });
      assert.match(out, /Verified OK/);
    }
  });

  it('the control member holds .PKGINFO first, then the scripts, and no end-of-archive blocks', () => {
    const p = pkg('busybox');
    const control = gunzip(members(repoFile(p.filename))[1] as Buffer);
    const { entries, end } = walk(control);
    assert.equal(end, control.length, 'the control tar is cut: it ends with its last entry');
    const names = entries.filter((e) => e.type !== 'x').map((e) => e.name);
    assert.deepEqual(names, ['.PKGINFO', '.post-install', '.trigger']);
    const baselayout = walk(gunzip(members(repoFile(pkg('alpine-baselayout').filename))[1] as Buffer)).entries.filter((e) => e.type !== 'x').map((e) => e.name);
    assert.deepEqual(baselayout, ['.PKGINFO', '.pre-install', '.post-install']);
  });

  it('.PKGINFO has abuild\'s keys in abuild\'s order, and datahash is the hex SHA256 of the data member', () => {
    for (const p of packages) {
      const [, control, data] = members(repoFile(p.filename)) as [Buffer, Buffer, Buffer];
      const info = walk(gunzip(control)).entries.find((e) => e.name === '.PKGINFO')?.body.toString('utf8') ?? '';
      const keys = info.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' = ')[0]);
      const order = ['pkgname', 'pkgver', 'pkgdesc', 'url', 'builddate', 'packager', 'size', 'arch', 'origin', 'commit', 'maintainer', 'provider_priority', 'license', 'replaces', 'depend', 'provides', 'triggers', 'install_if', 'datahash'];
      const ranks = keys.map((k) => order.indexOf(k as string));
      assert.ok(ranks.every((r) => r >= 0), `${p.name}: unknown key in ${keys.join(' ')}`);
      assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `${p.name}: keys out of order: ${keys.join(' ')}`);
      assert.match(info, new RegExp(`^datahash = ${createHash('sha256').update(data).digest('hex')}$`, 'm'), p.name);
      assert.match(info, new RegExp(`^builddate = ${APK_EPOCH}$`, 'm'));
    }
    assert.match(readTarMember(repoFile(pkg('hello-doc').filename), '.PKGINFO'), /^install_if = hello=2\.12\.1-r0 docs$/m);
    assert.match(readTarMember(repoFile(pkg('greeter-fancy').filename), '.PKGINFO'), /^provider_priority = 100$/m);
  });

  it('the data member is a whole ustar archive: root-owned entries at builddate, a pax APK-TOOLS.checksum.SHA1 before every file and symlink, end blocks to a 10240-byte record', () => {
    const p = pkg('alpine-baselayout');
    const tar = gunzip(members(repoFile(p.filename))[2] as Buffer);
    const { entries, end } = walk(tar);
    assert.ok(tar.length - end >= 1024 && tar.subarray(end).every((b) => b === 0), 'two or more zero blocks end the archive');
    assert.equal(tar.length % 10240, 0);
    for (const [i, e] of entries.entries()) {
      assert.equal(e.magic, 'ustar\x0000', e.name);
      assert.equal(e.mtime, APK_EPOCH, e.name);
      if (e.type === 'x') continue;
      const pax = entries[i - 1];
      assert.equal(pax?.type, 'x', `a pax header precedes ${e.name}`);
      const records = paxRecords(pax?.body as Buffer);
      if (e.type === '0') assert.equal(records['APK-TOOLS.checksum.SHA1'], createHash('sha1').update(e.body).digest('hex'), e.name);
      if (e.type === '5') assert.ok(e.name.endsWith('/'), `directory ${e.name} ends in /`);
    }
    const shadow = entries.find((e) => e.name === 'etc/shadow');
    assert.deepEqual([shadow?.mode, shadow?.uid, shadow?.gid, shadow?.uname, shadow?.gname], [0o640, 0, 42, 'root', 'shadow']);
    assert.equal(entries.find((e) => e.name === 'tmp/')?.mode, 0o1777);
    const musl = walk(gunzip(members(repoFile(pkg('musl').filename))[2] as Buffer)).entries;
    const linkAt = musl.findIndex((e) => e.name === 'lib/libc.musl-x86_64.so.1');
    assert.equal(paxRecords(musl[linkAt - 1]?.body as Buffer)['APK-TOOLS.checksum.SHA1'], createHash('sha1').update('ld-musl-x86_64.so.1').digest('hex'), 'a symlink carries the SHA1 of its target');
  });

  it('GNU tar reads a package as one archive (signature, control and data in order) and the listing matches what the generator reports', () => {
    const p = pkg('hello');
    const listing = execFileSync('tar', ['-tzf', repoFile(p.filename)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    assert.equal(listing[0], `.SIGN.RSA256.${keyName}`);
    assert.equal(listing[1], '.PKGINFO');
    assert.deepEqual(listing.slice(2).map((l) => l.replace(/\/$/, '')), p.files.map((f) => f.path));
  });
});

function readTarMember(file: string, member: string): string {
  return execFileSync('tar', ['-xzOf', file, member], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('apk fixture: APKINDEX.tar.gz', () => {
  it('is a signature member then the index member; openssl verifies the signature over the index member', () => {
    const ms = members(repoFile('APKINDEX.tar.gz'));
    assert.equal(ms.length, 2);
    const sig = walk(gunzip(ms[0] as Buffer));
    assert.equal(sig.entries[0]?.name, `.SIGN.RSA.${keyName}`);
    writeFileSync(join(dir, 'isig'), sig.entries[0]?.body as Buffer);
    writeFileSync(join(dir, 'index.gz'), ms[1] as Buffer);
    assert.match(execFileSync('openssl', ['dgst', '-sha1', '-verify', pub, '-signature', join(dir, 'isig'), join(dir, 'index.gz')], { encoding: 'utf8' }), /Verified OK/);
    const index = walk(gunzip(ms[1] as Buffer));
    assert.deepEqual(index.entries.map((e) => e.name), ['DESCRIPTION', 'APKINDEX']);
  });

  it('has one record per package, fields in apk\'s order, C: = Q1 + base64 SHA1 of the control member, S: the file size', () => {
    const text = readTarMember(repoFile('APKINDEX.tar.gz'), 'APKINDEX');
    assert.ok(text.endsWith('\n\n'), 'a blank line after every record');
    const records = text.trim().split('\n\n').map((r) => r.split('\n'));
    assert.equal(records.length, packages.length);
    const order = 'CPVASITULomtckDpi';
    for (const lines of records) {
      const letters = lines.map((l) => l[0] as string);
      const ranks = letters.map((l) => order.indexOf(l));
      assert.ok(ranks.every((r) => r >= 0) && ranks.every((r, i) => i === 0 || r > (ranks[i - 1] as number)), `fields ${letters.join('')}`);
      const field = (l: string) => lines.find((x) => x.startsWith(`${l}:`))?.slice(2);
      const p = packages.find((x) => x.name === field('P') && x.version === field('V')) as ApkBuilt;
      assert.ok(p, `${field('P')} ${field('V')} is a package`);
      const control = members(repoFile(p.filename))[1] as Buffer;
      assert.equal(field('C'), `Q1${createHash('sha1').update(control).digest('base64')}`);
      assert.equal(Number(field('S')), readFileSync(repoFile(p.filename)).length);
    }
    assert.match(text, /^P:hello\nV:2\.12\.1-r0\n/m);
    assert.match(text, /^k:100$/m);
    assert.match(text, /^i:hello=2\.12\.1-r0 docs$/m);
    assert.match(text, /^D:so:libhello\.so\.1 libhello>=1\.2\.3_beta2 greeting cmd:kiln-printf kiln-tricky kiln-snapshot$/m);
  });
});
