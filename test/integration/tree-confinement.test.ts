/**
 * kiln's own writes after configure stay in the tree (Debian amd64, the
 * host's mirror). A host-side configure hook stands in for hostile
 * packages: it turns the files kiln writes later (host name, hosts, locale,
 * time zone, keyboard, the random seed's directory) into symlinks to a
 * decoy directory outside the build that the test user owns, so a write
 * through one would succeed. The decoy must come out as it went in, and the
 * image must have the files kiln wrote in place of the links.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const PLANTED = ['etc/hostname', 'etc/hosts', 'etc/timezone', 'etc/vconsole.conf', 'etc/locale.conf', 'etc/default/locale'];

const TOML = (mirrorUrl: string, decoy: string) => `[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"
mirror = "${mirrorUrl}"

[packages]
install = ["tzdata"]

[system]
hostname = "guarded"
timezone = "Europe/Berlin"
locale = "de_DE.UTF-8"
keyboard = "de"

[[user]]
name = "pi"

[[hook]]
stage = "configure"
name = "50-plant-symlinks"
run = '''
# absolute targets, and one that climbs with ../ as far as it can
for f in ${PLANTED.join(' ')}; do
  rm -f "$KILN_ROOT/$f"
  ln -s "${decoy}/$(echo "$f" | tr / _)" "$KILN_ROOT/$f"
done
ln -sfn "../../../../../../../../../..${decoy}/etc_hosts" "$KILN_ROOT/etc/hosts"
mkdir -p "$KILN_ROOT/var/lib"
rm -rf "$KILN_ROOT/var/lib/urandom"
ln -s "${decoy}/urandom" "$KILN_ROOT/var/lib/urandom"
'''

[build]
checkpoints = false

[output]
format = ["directory"]
`;

/** Everything in the decoy directory: name -> mode, owner, content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    out[rel] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? readFileSync(abs, 'utf8') : st.isDirectory() ? 'dir' : 'other'}`;
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(join(abs, name), `${rel}/${name}`);
  };
  visit(dir, '');
  return out;
}

describe('kiln writes into the tree, never through symlinks out of it', { skip }, () => {
  let dir: string;
  let decoy: string;
  let before_: Record<string, string>;
  let result: { code: number; stderr: string };
  before(async () => {
    decoy = mkdtempSync(join(tmpdir(), 'kiln-decoy-'));
    for (const f of PLANTED) writeFileSync(join(decoy, f.replace(/\//g, '_')), `decoy ${f}\n`, { mode: 0o644 });
    spawnSync('mkdir', ['-m', '755', join(decoy, 'urandom')]);
    writeFileSync(join(decoy, 'urandom/random-seed'), 'decoy seed\n', { mode: 0o600 });
    // Owned by the test user: inside kiln's namespace it is root's, so a write through a link would succeed.
    if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, decoy]);
    before_ = snapshot(decoy);
    dir = imageDir(TOML(mirror as string, decoy));
    result = await kiln(['build', '-C', dir]);
  });
  after(() => {
    rmSync(decoy, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the build succeeds and the decoy outside it is byte-for-byte and mode-for-mode unchanged', () => {
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(snapshot(decoy), before_);
  });

  test('the image has the files kiln wrote in place of the links', () => {
    const image = join(dir, 'out/image');
    assert.equal(readFileSync(join(image, 'etc/hostname'), 'utf8'), 'guarded\n');
    assert.match(readFileSync(join(image, 'etc/hosts'), 'utf8'), /^127\.0\.1\.1\tguarded$/m);
    assert.equal(readFileSync(join(image, 'etc/timezone'), 'utf8'), 'Europe/Berlin\n');
    assert.equal(readFileSync(join(image, 'etc/vconsole.conf'), 'utf8'), 'KEYMAP=de\n');
    assert.equal(readFileSync(join(image, 'etc/default/locale'), 'utf8'), 'LANG=de_DE.UTF-8\n');
    for (const f of PLANTED) assert.ok(lstatSync(join(image, f)).isFile(), `${f} is a regular file in the image`);
    assert.equal(readlinkSync(join(image, 'etc/localtime')), '../usr/share/zoneinfo/Europe/Berlin');
    assert.match(readFileSync(join(image, 'etc/passwd'), 'utf8'), /^pi:x:1000:1000::\/home\/pi:\/bin\/bash$/m);
    assert.ok(lstatSync(join(image, 'var/lib/urandom')).isSymbolicLink(), 'the planted link itself is left as it is');
  });
});
