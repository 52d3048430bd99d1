import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMissing, Tree, TreeError } from '../../src/tree/index.ts';
import { decoyFixture, plantFifo } from '../helpers/decoy.ts';

test('a read follows links inside the root as chroot would; a missing file is told apart from a non-file', (t) => {
  const f = decoyFixture(t);
  const tree = new Tree(f.root);
  mkdirSync(join(f.root, 'usr/lib'), { recursive: true });
  writeFileSync(join(f.root, 'usr/lib/os-release'), 'ID=x\n');
  mkdirSync(join(f.root, 'etc'));
  symlinkSync('/usr/lib/os-release', join(f.root, 'etc/os-release'));
  assert.equal(tree.readText('etc/os-release'), 'ID=x\n');
  assert.equal(tree.readText('/etc/../../../etc/os-release'), 'ID=x\n', '.. never climbs above the root');
  assert.equal(tree.readTextIfExists('etc/none'), undefined);
  assert.throws(() => tree.readText('etc/none'), (err) => isMissing(err));
  plantFifo(f.root, 'etc/fifo');
  assert.throws(() => tree.readText('etc/fifo'), (err) => err instanceof TreeError && err.problem === 'not-a-file');
  assert.throws(() => tree.readTextIfExists('etc'), /is a directory, not a regular file/);
  assert.equal(tree.stat('etc/os-release/x'), undefined, 'a path through a file is not there');
  assert.equal(tree.readTextIfExists('etc/os-release/x'), undefined);
  assert.deepEqual(tree.readdir('etc/os-release/x'), []);
});

test('a write replaces a symlink (never writes through it) and keeps the owner and mode of a file it replaces', (t) => {
  const f = decoyFixture(t);
  const tree = new Tree(f.root);
  f.plant('etc/hostname', 'hostname', 'absolute');
  const before = f.snapshot();
  tree.write('etc/hostname', 'box\n');
  assert.deepEqual(f.snapshot(), before);
  assert.ok(lstatSync(join(f.root, 'etc/hostname')).isFile());
  writeFileSync(join(f.root, 'etc/shadow'), 'root:*:1::::::\n');
  chmodSync(join(f.root, 'etc/shadow'), 0o640);
  tree.write('etc/shadow', 'root:!:1::::::\n');
  assert.equal(lstatSync(join(f.root, 'etc/shadow')).mode & 0o7777, 0o640);
  writeFileSync(join(f.root, 'etc/gshadow.real'), 'root:*::\n', { mode: 0o640 });
  symlinkSync('gshadow.real', join(f.root, 'etc/gshadow'));
  tree.write('etc/gshadow', 'root:!::\n');
  assert.equal(lstatSync(join(f.root, 'etc/gshadow')).mode & 0o7777, 0o640, 'a link inside the root hands on its file mode');
  tree.write('etc/new', 'x', { mode: 0o755 });
  assert.equal(lstatSync(join(f.root, 'etc/new')).mode & 0o7777, 0o755);
  assert.throws(() => tree.write('no/such/dir/file', 'x'), (err) => isMissing(err));
});

test('remove, chmod, chown and symlink stay inside the root', (t) => {
  const f = decoyFixture(t);
  const tree = new Tree(f.root);
  f.plant('var/lib/urandom', 'urandom', 'relative', true);
  f.plant('etc/passwd', 'passwd', 'absolute');
  const before = f.snapshot();
  tree.remove('var/lib/urandom/random-seed');
  assert.throws(() => tree.chmod('etc/passwd', 0o777), (err) => isMissing(err), 'the link resolves inside the root, where nothing is');
  tree.chown('etc/passwd', process.getuid?.() ?? 0, process.getgid?.() ?? 0, { follow: false });
  tree.symlink('../usr/share/zoneinfo/UTC', 'etc/passwd', { replace: true });
  assert.equal(readlinkSync(join(f.root, 'etc/passwd')), '../usr/share/zoneinfo/UTC');
  tree.remove('var/lib/urandom', { recursive: true });
  assert.throws(() => lstatSync(join(f.root, 'var/lib/urandom')), /ENOENT/);
  assert.deepEqual(f.snapshot(), before);
  assert.throws(() => tree.remove('/'), /it is the root of the image/);
  const made = tree.mkdir('var/lib/urandom/x', { mode: 0o700 });
  assert.equal(made, join(f.root, 'var/lib/urandom/x'));
  assert.equal(lstatSync(made).mode & 0o7777, 0o700);
  tree.append('var/lib/urandom/x/log', 'a');
  tree.append('var/lib/urandom/x/log', 'b');
  assert.equal(readFileSync(join(made, 'log'), 'utf8'), 'ab');
});
