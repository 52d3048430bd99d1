/**
 * Native twins (build.emulation = "native-twins") for a foreign Debian
 * build: the programs maintainer scripts start most run from host packages
 * of the tree's exact versions, and the result is the same tree as with
 * everything under QEMU (build.emulation = "full"), byte for byte. Debian
 * bookworm arm64 from the host's configured mirror, as the test user.
 *
 * The full-emulation build is also this suite's arm64 reproducibility
 * check in CI (issue 14; the whole output matrix for arm64 is
 * repro-matrix-arm64.test.ts, behind KILN_TEST_SLOW=1): it runs in another
 * image directory, from a cache of its own, under the other umask, TZ and
 * LANG of test/helpers/repro.ts's VARIATIONS. The output writers are the
 * same native code for every architecture and the amd64 and fixture
 * matrices cover each of them; what is arm64's own is the tree, and the tar
 * is the tree byte for byte.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { freshCache, VARIATIONS } from '../helpers/repro.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { kernelSupportsNamespacedBinfmt } from '../../src/pipeline/emulation.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(
  integrationSkipReason() ??
    (mirror ? undefined : 'the host has no Debian apt source to use as mirror') ??
    (kernelSupportsNamespacedBinfmt() ? undefined : 'native twins need binfmt_misc per namespace (Linux >= 6.7)'),
);

const EPOCH = '1700000000';
const LONG = { timeout: 40 * 60_000 };

/** After the unpack, a maintainer script of the tree is made to record what dpkg says the architecture is. */
const POSTINST_ARCH_HOOK = `
[[hook]]
stage = "unpack"
name = "10-postinst-arch"
run = '''
f="$KILN_ROOT/var/lib/dpkg/info/iputils-ping.postinst"
if [ -f "$f" ]; then { head -n 1 "$f"; echo 'dpkg --print-architecture > /etc/kiln-postinst-arch'; tail -n +2 "$f"; } > "$f.new"; else printf '#!/bin/sh\\ndpkg --print-architecture > /etc/kiln-postinst-arch\\n' > "$f.new"; fi
chmod 755 "$f.new"; mv "$f.new" "$f"
'''
`;

/** After the unpack, dpkg's status gives sed another version than its twin's. */
const WRONG_VERSION_HOOK = `
[[hook]]
stage = "unpack"
name = "10-sed-version"
run = '''sed -i '/^Package: sed$/,/^$/ s/^Version: .*/&+kiln1/' "$KILN_ROOT/var/lib/dpkg/status"'''
`;

const toml = (install: string[], extra: string) =>
  `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "arm64"\nmirror = "${mirror}"\n\n[packages]\nbase = "minimal"\ninstall = ${JSON.stringify(install)}\n\n[build]\nemulation = "native-twins"\n\n[output]\nformat = ["tar"]\n${extra}`;

const ledgerOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as { 'script-ledger': Record<string, string> })['script-ledger'];

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function inImage(dir: string, script: string): Promise<string> {
  const r = await kiln(['shell', '-C', dir, '--', '/bin/sh', '-c', script]);
  assert.equal(r.code, 0, `kiln shell failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
}

/** The build log's counts for dpkg's configure run. */
function dpkgCounts(log: string): { native: number; emulated: number } {
  const m = /\[dpkg\] native twins: (\d+) executions ran natively, (\d+) emulated/.exec(log);
  assert.ok(m, `no execution counts for dpkg in the log:\n${log}`);
  return { native: Number(m[1]), emulated: Number(m[2]) };
}

describe('native twins: Debian bookworm arm64 minimal + iputils-ping + systemd', { skip }, () => {
  let dir: string;
  let twins: { code: number; stderr: string; sha: string; ledger: Record<string, string> };
  let full: { code: number; stderr: string; sha: string; ledger: Record<string, string> };
  before(async () => {
    const image = toml(['iputils-ping', 'systemd'], POSTINST_ARCH_HOOK);
    dir = imageDir(image);
    const [one, two] = VARIATIONS;
    const a = await kiln(['build', '-C', dir, '--rebuild', '--debug'], { env: { ...one.env, SOURCE_DATE_EPOCH: EPOCH }, umask: one.umask, timeoutMs: LONG.timeout });
    twins = { ...a, sha: a.code === 0 ? sha256(join(dir, 'out/image.tar')) : '', ledger: a.code === 0 ? ledgerOf(dir) : {} };
    const other = imageDir(image);
    const env = { ...two.env, XDG_CACHE_HOME: freshCache(), SOURCE_DATE_EPOCH: EPOCH };
    const b = await kiln(['build', '-C', other, '--set', 'build.emulation=full'], { env, umask: two.umask, timeoutMs: LONG.timeout });
    full = { ...b, sha: b.code === 0 ? sha256(join(other, 'out/image.tar')) : '', ledger: b.code === 0 ? ledgerOf(other) : {} };
  }, LONG);

  test('the native-twin build and the full-emulation build (another directory, cache, umask, TZ and LANG) give the same tar, byte for byte', () => {
    assert.equal(twins.code, 0, twins.stderr);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(twins.sha, full.sha);
  });

  test('dpkg itself runs natively only for its version checks (dpkg-maintscript-helper’s), and the tree is still the same', () => {
    const native = [...twins.stderr.matchAll(/\[dpkg\] natively: (.*); emulated: (.*)$/gm)];
    assert.equal(native.length, 1, twins.stderr);
    assert.match(native[0]?.[1] as string, /(^|, )\/usr\/bin\/dpkg \d+/);
    assert.equal(twins.sha, full.sha);
  });

  test('the build log says how many executions ran natively and how many emulated; the full build has no twins', () => {
    const counts = dpkgCounts(twins.stderr);
    assert.ok(counts.native > 0 && counts.emulated > 0, JSON.stringify(counts));
    assert.doesNotMatch(full.stderr, /native twins:/);
  });

  test('the manifest’s script ledger says, per package, whether its scripts ran with native helpers, fully emulated, or not at all', () => {
    // With twins, every shell script's own sh is a twin: a package with scripts has native helpers.
    const values = (l: Record<string, string>) => new Set(Object.values(l));
    assert.deepEqual(values(twins.ledger), new Set(['native helpers', 'no scripts']), JSON.stringify(twins.ledger));
    assert.deepEqual(values(full.ledger), new Set(['fully emulated', 'no scripts']), JSON.stringify(full.ledger));
    assert.equal(twins.ledger['iputils-ping'], 'native helpers');
    assert.equal(full.ledger['iputils-ping'], 'fully emulated');
    assert.equal(twins.ledger['libgmp10'], 'no scripts');
    const withoutScripts = (l: Record<string, string>) => Object.keys(l).filter((k) => l[k] === 'no scripts');
    assert.deepEqual(withoutScripts(twins.ledger), withoutScripts(full.ledger));
    assert.deepEqual(Object.keys(twins.ledger), Object.keys(full.ledger));
  });

  test('a maintainer script calling dpkg --print-architecture sees arm64', async () => {
    assert.equal((await inImage(dir, 'cat /etc/kiln-postinst-arch')).trim(), 'arm64');
  });

  test('kiln shell -- uname -m prints aarch64, and dpkg --audit is clean', async () => {
    const r = await kiln(['shell', '-C', dir, '--', 'uname', '-m']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'aarch64');
    assert.match(await inImage(dir, 'dpkg --audit; echo "audit=$?"; dpkg-query -W -f "\\${db:Status-Abbrev}\\n" | sort -u'), /^audit=0\nii $/m);
  });
});

describe('native twins: a twin whose version differs from the tree’s package is never used', { skip }, () => {
  test('sed, at another version in dpkg’s status than its twin, runs only under QEMU', LONG, async () => {
    const dir = imageDir(toml([], WRONG_VERSION_HOOK));
    const r = await kiln(['build', '-C', dir, '--rebuild', '--debug'], { env: { SOURCE_DATE_EPOCH: EPOCH }, timeoutMs: LONG.timeout });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /sed's twin is not used: the tree has [^ ]+\+kiln1, the twin is /);
    const detail = [...r.stderr.matchAll(/natively: (.*); emulated: (.*)$/gm)];
    assert.ok(detail.length > 0, r.stderr);
    for (const [, native] of detail) assert.doesNotMatch(native as string, /\/bin\/sed /);
    assert.ok(detail.some(([, , emulated]) => /\/bin\/sed \d+/.test(emulated as string)), 'sed ran, under QEMU');
    assert.ok(dpkgCounts(r.stderr).native > 0, 'the other twins still ran');
  });
});
