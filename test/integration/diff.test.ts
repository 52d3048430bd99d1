/**
 * `kiln diff` on real builds, run as the unprivileged test user (issue 14):
 * the Arch fixture built twice with differences on purpose (a package added
 * in the second; a hook writing the date into a file) names the changed
 * files and their packages, the added package's files as added and the
 * hook's file as owned by no package; a rebuild of the same image, and the
 * same build's tar against its directory, are identical (exit 0). Then two
 * Debian bookworm minimal tars, one with a package more: the package is
 * named, and the time and peak memory of kiln diff are printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { type FakeArchRepos, fakeArchSkipReason, makeFakeArchRepos, readableKeyring } from '../helpers/fake-arch.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';

interface JsonReport {
  identical: boolean;
  packages: { name: string | null; status: string; versionA: string | null; versionB: string | null; changes: { path: string; kind: string; aspects: string[]; diff: string | null }[] }[];
}

const DATE_HOOK = '\n[[hook]]\nstage = "customize"\nname = "10-date"\nrun = \'date +%s.%N > "$KILN_ROOT/etc/kiln-build-date"\'\n';

describe('kiln diff: two Arch fixture builds differing on purpose', { skip: skipOrFail(integrationSkipReason() ?? fakeArchSkipReason(['x86_64'])) }, () => {
  let repos: FakeArchRepos;
  let mirror: Mirror;
  let keyring: string;
  let cache: string;
  before(async () => {
    repos = await makeFakeArchRepos(mkdtempSync(join(tmpdir(), 'kiln-diff-arch-')), { architectures: ['x86_64'] });
    mirror = await startMirror(repos.root);
    keyring = readableKeyring(repos, 'diff-arch');
    cache = imageDir();
  });
  after(async () => {
    await mirror?.close();
  });

  async function build(extra: string[]): Promise<string> {
    const dir = imageDir(
      `[distribution]\nname = "archlinux"\narchitecture = "x86_64"\nmirror = "${mirror.url}/$repo/os/$arch"\nkeyring = ["${keyring}"]\n\n[packages]\ninstall = ${JSON.stringify(['bash', ...extra])}\n\n[output]\nformat = ["tar", "directory"]\n${DATE_HOOK}`,
    );
    const r = await kiln(['build', '-C', dir], { env: { XDG_CACHE_HOME: cache } });
    assert.equal(r.code, 0, r.stderr);
    return join(dir, 'out');
  }

  test('names the added package\'s files as added and the hook\'s file as owned by no package; the same image is identical', async () => {
    const a = await build([]);
    const b = await build(['kiln-extra-tool']);
    const r = await kiln(['diff', '--json', join(a, 'image.tar'), join(b, 'image.tar')]);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonReport;
    const added = report.packages.find((p) => p.name === 'kiln-extra-tool');
    assert.equal(added?.status, 'added');
    assert.equal(added?.versionB, '2.1-3');
    assert.ok(added?.changes.some((c) => c.path === 'usr/share/kiln-extra-tool/README' && c.kind === 'added'), JSON.stringify(added));
    const unowned = report.packages.find((p) => p.name === null);
    const hook = unowned?.changes.find((c) => c.path === 'etc/kiln-build-date');
    assert.deepEqual(hook?.aspects, ['content'], JSON.stringify(unowned));
    assert.match(hook?.diff ?? '', /^-\d+\.\d+\n\+\d+\.\d+$/m);
    // pacman's database changed with the new package: listed, and no path is left out.
    assert.ok(unowned?.changes.some((c) => c.path.startsWith('var/lib/pacman/local/kiln-extra-tool-')));
    const text = await kiln(['diff', join(a, 'image.tar'), join(b, 'image')]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^package kiln-extra-tool \(added, 2\.1-3\): \d+ paths$/m);
    assert.match(text.stdout, /^ {2}\+ \/usr\/share\/kiln-extra-tool\/README {2}file 11 B sha256 [0-9a-f]{12}$/m);
    assert.match(text.stdout, /^owned by no package: \d+ paths$/m);

    const again = await build([]);
    const same = await kiln(['diff', join(a, 'image.tar'), join(again, 'image.tar')]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /^identical: /);
    const tarVsDir = await kiln(['diff', join(a, 'image.tar'), join(a, 'image')]);
    assert.equal(tarVsDir.code, 0, tarVsDir.stdout.slice(0, 4000) + tarVsDir.stderr);
  });

  test('a missing input is a user mistake: exit 2, one line and a hint', async () => {
    const r = await kiln(['diff', '/nonexistent/a.tar', '/nonexistent/b.tar']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^kiln: error: \/nonexistent\/a\.tar: no such file or directory\nhint: /);
  });
});

const debianMirror = hostMirrorFor('debian');

describe('kiln diff: two Debian bookworm minimal tars, one package apart', { skip: skipOrFail(integrationSkipReason() ?? (debianMirror ? undefined : 'the host has no Debian apt source to use as mirror')) }, () => {
  async function build(extra: string[]): Promise<string> {
    const dir = imageDir(
      `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${debianMirror}"\n\n[packages]\nbase = "minimal"\ninstall = ${JSON.stringify(extra)}\n\n[output]\nformat = ["tar"]\n`,
    );
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    return join(dir, 'out/image.tar');
  }

  test('names the added package and its files; prints the time and peak memory', async (t) => {
    const a = await build([]);
    const b = await build(['less']);
    const measure = join(imageDir(), 'time');
    const started = process.hrtime.bigint();
    const r = await kiln(['diff', '--json', a, b], { wrap: ['/usr/bin/time', '-f', '%M', '-o', measure] });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonReport;
    const less = report.packages.find((p) => p.name === 'less');
    assert.equal(less?.status, 'added');
    assert.ok(less?.changes.some((c) => c.path === 'usr/bin/less' && c.kind === 'added'));
    const dpkgStatus = report.packages.find((p) => p.name === null)?.changes.find((c) => c.path === 'var/lib/dpkg/status');
    assert.match(dpkgStatus?.diff ?? '', /^\+Package: less$/m);
    const peakKiB = Number(readFileSync(measure, 'utf8').trim().split('\n').at(-1));
    t.diagnostic(`kiln diff on two Debian minimal tars: ${seconds.toFixed(2)} s, peak RSS ${(peakKiB / 1024).toFixed(0)} MiB`);
  });
});
