/**
 * Stages, checkpoints, hooks, manifests and the SBOM on real Debian images
 * built as the unprivileged test user: a second build with nothing changed
 * reuses everything, a changed hook re-runs only the stages after it, a
 * resumed build makes the same bytes as a fresh one, hooks run where they
 * say, and the manifest and SBOM describe what was built.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER, writeAs } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { cyclonedxProblems } from '../helpers/cyclonedx.ts';
import { cyclonedxContents, spdxContents, type SbomContentsView } from '../helpers/sbom-contents.ts';
import { spdxProblems } from '../helpers/spdx.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';
import type { Manifest } from '../../src/outputs/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  if (isRoot) spawnSync('chown', [`${TEST_USER}:`, dir]);
  return dir;
}

/** A file from a tar output, or undefined when it has no such member. */
function fromTar(tar: string, member: string): string | undefined {
  const r = spawnSync('tar', ['-xOf', tar, `./${member}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/**
 * The SBOMs' files and graph against the image's own dpkg database, read
 * by dpkg-query: no file listed as unowned is one a package owns; every
 * file others may read and every symlink under /etc is owned or listed,
 * and no file others may not read (/etc/shadow) is listed; every Depends or
 * Pre-Depends group whose first alternative is an installed package gives
 * that edge.
 */
function assertContentsMatchDpkg(tar: string, listed: SbomContentsView): void {
  const db = mkdtempSync(join(tmpdir(), 'kiln-sbom-dpkg-'));
  try {
    assert.equal(spawnSync('tar', ['-xf', tar, '-C', db, './var/lib/dpkg']).status, 0);
    const query = (...args: string[]) => spawnSync('dpkg-query', ['--admindir', join(db, 'var/lib/dpkg'), ...args], { encoding: 'utf8' });
    const unowned = [...listed.files].filter(([, f]) => f.kind === 'unowned').map(([path]) => path);
    assert.ok(unowned.includes('/etc/passwd') && unowned.includes('/etc/hostname'), unowned.join(' '));
    const owners = query('-S', ...unowned);
    assert.equal(owners.stdout.trim(), '', 'dpkg says a package owns these files listed as unowned');
    const lines = spawnSync('tar', ['-tvf', tar, './etc'], { encoding: 'utf8' }).stdout.split('\n');
    const pathOf = (line: string) => `/${line.split(/\s+/)[5]!.replace(/^\.\//, '').replace(/ -> .*$/, '')}`;
    // A file others may not read (-rw-r----- /etc/shadow) is left out of the SBOMs: not even its hash is published.
    const secret = lines.filter((line) => line.startsWith('-') && line[7] !== 'r').map(pathOf);
    assert.ok(secret.includes('/etc/shadow'), secret.join(' '));
    assert.deepEqual(secret.filter((path) => listed.files.has(path)), [], 'files others may not read are not in the SBOM');
    const etc = lines.filter((line) => line.startsWith('l') || (line.startsWith('-') && line[7] === 'r')).map(pathOf);
    const notListed = etc.filter((path) => !listed.files.has(path));
    assert.ok(etc.length > notListed.length && notListed.length > 10, `${etc.length} files under /etc, ${notListed.length} of them owned`);
    const found = query('-S', ...notListed);
    assert.equal(found.status, 0, `files under /etc neither owned nor listed: ${found.stderr}`);
    const installed = new Map(
      query('-W', '-f', '${db:Status-Status}\t${Package}\t${Pre-Depends}, ${Depends}\n')
        .stdout.split('\n')
        .filter((line) => line.startsWith('installed\t'))
        .map((line) => line.split('\t').slice(1) as [string, string]),
    );
    assert.deepEqual([...listed.dependsOn.keys()].sort(), [...installed.keys()].sort());
    let edges = 0;
    for (const [name, relations] of installed) {
      const first = relations.split(',').map((group) => group.split('|')[0]!.trim().split(/[\s(:]/)[0]!).filter((n) => n && installed.has(n) && n !== name);
      for (const on of first) assert.ok(listed.dependsOn.get(name)?.includes(on), `${name} depends on ${on}: ${listed.dependsOn.get(name)?.join(' ')}`);
      edges += first.length;
    }
    assert.ok(edges > installed.size, `${edges} edges checked`);
    assert.ok(listed.dependsOn.get('bash')?.includes('libc6'), 'bash Pre-Depends on libc6');
  } finally {
    rmSync(db, { recursive: true, force: true });
  }
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The stages a build ran, from its step lines. */
function ranStages(stderr: string): string[] {
  return ['unpack', 'configure', 'customize', 'prune', 'finalize', 'output'].filter((s) => new RegExp(`^${s} +\\d+\\.\\d s`, 'm').test(stderr));
}

describe('stages and checkpoints', { skip }, () => {
  const cache = ownedTempDir('kiln-stages-cache-');
  const toml = (extra = '') =>
    `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirror}"\n[packages]\nbase = "minimal"\n[output]\nformat = ["tar"]\n[build]\ncache-directory = "${cache}"\n${extra}`;
  const dir = imageDir(toml('[prune]\nremove = ["/usr/share/doc/*/changelog.Debian.gz", "/usr/share/man/**/*.gz"]\n'));
  const tar = join(dir, 'out/image.tar');

  test('a first build runs every stage and stores a checkpoint after configure, customize, prune and finalize', async () => {
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ranStages(r.stderr), ['unpack', 'configure', 'customize', 'prune', 'finalize', 'output']);
    for (const stage of ['configure', 'customize', 'prune', 'finalize']) assert.match(r.stderr, new RegExp(`^checkpoint +\\d+\\.\\d s +${stage} [0-9a-f]{12}, `, 'm'));
    const list = await kiln(['cache', 'list', '--json', '-C', dir]);
    assert.equal(list.code, 0, list.stderr);
    const checkpoints = JSON.parse(list.stdout) as { stage: string; base?: string; size: number }[];
    assert.deepEqual(checkpoints.map((c) => c.stage).sort(), ['configure', 'customize', 'finalize', 'prune']);
    const whole = checkpoints.find((c) => c.stage === 'configure')!;
    assert.equal(whole.base, undefined);
    for (const c of checkpoints.filter((c) => c.stage !== 'configure')) assert.ok(c.base && c.size < whole.size / 10, `${c.stage} holds only its changes`);
    assert.equal(fromTar(tar, 'usr/share/doc/bash/changelog.Debian.gz'), undefined, 'prune.remove took the changelogs');
    assert.ok(fromTar(tar, 'usr/share/doc/bash/copyright'), 'and left the rest');
  });

  test('a second build with nothing changed reuses every stage and leaves the outputs alone', async () => {
    const before = statSync(tar).mtimeMs;
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /nothing changed: every stage reused, outputs up to date/);
    assert.deepEqual(ranStages(r.stderr), []);
    assert.doesNotMatch(r.stderr, /^fetch /m);
    assert.equal(statSync(tar).mtimeMs, before);
  });

  test('changing only a hook re-runs only the stages after it', async () => {
    writeAs(join(dir, 'hooks/prune/10-note'), 'echo "one" > "$KILN_ROOT/etc/kiln-note"\n');
    let r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /reusing fetch, unpack, configure, customize \(the customize checkpoint [0-9a-f]{12}\)/);
    assert.deepEqual(ranStages(r.stderr), ['prune', 'finalize', 'output']);
    assert.equal(fromTar(tar, 'etc/kiln-note'), 'one\n');
    writeAs(join(dir, 'hooks/prune/10-note'), 'echo "two" > "$KILN_ROOT/etc/kiln-note"\n');
    r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ranStages(r.stderr), ['prune', 'finalize', 'output']);
    assert.equal(fromTar(tar, 'etc/kiln-note'), 'two\n');
    writeAs(join(dir, 'hooks/customize/10-motd'), 'echo "built by kiln" > "$KILN_ROOT/etc/motd"\n');
    r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /reusing fetch, unpack, configure \(the configure checkpoint /);
    assert.deepEqual(ranStages(r.stderr), ['customize', 'prune', 'finalize', 'output']);
    assert.equal(fromTar(tar, 'etc/motd'), 'built by kiln\n');
  });

  test('a build resumed from checkpoints makes the same bytes as one run from the start', async () => {
    // Only the output stage runs: the tree comes from the chain of checkpoints.
    let r = await kiln(['build', '-C', dir, '--rebuild', 'output']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ranStages(r.stderr), ['output']);
    const resumed = sha256(tar);
    r = await kiln(['build', '-C', dir, '--rebuild']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ranStages(r.stderr), ['unpack', 'configure', 'customize', 'prune', 'finalize', 'output']);
    assert.equal(sha256(tar), resumed);
  });

  test('the manifest and the SPDX 2.3 SBOM describe the image; kiln inspect summarises it', async () => {
    writeAs(join(dir, 'hooks/finalize/60-fragment'), 'printf \'{"buildInfo": {"ticket": "KILN-4", "hostname": "%s"}}\' "$KILN_SYSTEM_HOSTNAME" > "$KILN_MANIFEST_DIR/ticket.json"\n');
    writeAs(join(dir, 'kiln.private.toml'), '[system]\nhostname = "very-private-name"\n');
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8')) as Manifest & { buildInfo: unknown };
    assert.equal(manifest.image.distribution, 'debian');
    assert.equal(manifest.image.architecture, 'amd64');
    assert.match(manifest.kiln.version, /^\d+\.\d+\.\d+/);
    assert.equal(manifest.outputs[0]?.sha256, sha256(tar));
    assert.equal(manifest.outputs[0]?.size, statSync(tar).size);
    const bash = manifest.packages.find((p) => p.name === 'bash');
    assert.ok(bash && bash.version && bash.architecture === 'amd64' && bash.source === 'bash' && (bash.installedSize ?? 0) > 1e6 && bash.sha256 && bash.url?.startsWith(mirror!), JSON.stringify(bash));
    assert.ok(bash.licenses.includes('GPL-3+'), JSON.stringify(bash.licenses));
    assert.equal(manifest.packages.length, Number(spawnSync('sh', ['-c', `tar -xOf ${tar} ./var/lib/dpkg/status | grep -c '^Package: '`], { encoding: 'utf8' }).stdout.trim()));
    assert.equal(manifest.config['system.hostname'], '(private)');
    assert.deepEqual(manifest.buildInfo, { ticket: 'KILN-4', hostname: 'very-private-name' }, 'fragments are merged (a hook may print what it likes)');
    assert.equal(fromTar(tar, 'etc/hostname'), 'very-private-name\n');
    const sbomText = readFileSync(join(dir, 'out/image.spdx.json'), 'utf8');
    assert.deepEqual(spdxProblems(JSON.parse(sbomText)), []);
    // Both SBOMs list the files no package owns (the database as such) and the package graph alike; dpkg-query agrees with them.
    const bom = JSON.parse(readFileSync(join(dir, 'out/image.cdx.json'), 'utf8')) as unknown;
    assert.deepEqual(cyclonedxProblems(bom), []);
    const listed = spdxContents(JSON.parse(sbomText));
    assert.deepEqual(cyclonedxContents(bom), listed);
    assert.deepEqual(listed.files.get('/var/lib/dpkg/status'), { kind: 'package-database', sha256: createHash('sha256').update(fromTar(tar, 'var/lib/dpkg/status') ?? '').digest('hex') });
    assert.deepEqual(listed.files.get('/etc/hostname'), { kind: 'unowned', sha256: createHash('sha256').update('very-private-name\n').digest('hex') });
    assert.equal(listed.files.has('/usr/bin/bash') || listed.files.has('/bin/bash'), false);
    assertContentsMatchDpkg(tar, listed);
    assert.equal(sbomText.includes('very-private-name'), false, 'private values stay out of the SBOM');
    assert.equal(readFileSync(join(dir, 'out/image.manifest.json'), 'utf8').replace(/"buildInfo"[^}]*}/, '').includes('very-private-name'), false);
    const inspect = await kiln(['inspect', join(dir, 'out/image.tar')]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /^image: +image: debian bookworm amd64$/m);
    assert.match(inspect.stdout, /^largest packages:\n {2}(coreutils|libc6) +\d+\.\d MiB +\d+\.\d%/m);
  });

  test('hooks: inside the image (.chroot), inline, publish after success; a failing hook stops the build and the error hooks get the log', async () => {
    const d = imageDir(
      toml(`\n[[hook]]\nstage = "finalize"\nname = "20-inline"\nrun = "echo inline $KILN_STAGE > $KILN_ROOT/etc/kiln-inline"\n`),
    );
    writeAs(join(d, 'hooks/customize/20-inside.chroot'), '#!/bin/sh\nset -e\n{ cat /etc/debian_version; echo "$KILN_SYSTEM_HOSTNAME $KILN_ROOT"; } > /etc/kiln-inside\n');
    writeAs(join(d, 'hooks/publish/10-record'), 'echo "$KILN_OUTPUTS up-to-date=$KILN_UP_TO_DATE" >> "$KILN_IMAGE_DIR/published"\n');
    writeAs(join(d, 'hooks/error/10-report'), 'cp "$KILN_BUILD_LOG" "$KILN_IMAGE_DIR/error.log"; echo "$KILN_ERROR" > "$KILN_IMAGE_DIR/error.msg"\n');
    let r = await kiln(['build', '-C', d]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(d, 'out/image.tar');
    assert.match(fromTar(out, 'etc/kiln-inside') ?? '', /^12\.\d+\ndebian \/\n$/);
    assert.equal(fromTar(out, 'etc/kiln-inline'), 'inline finalize\n');
    assert.equal(readFileSync(join(d, 'published'), 'utf8'), `${out} up-to-date=0\n`);
    r = await kiln(['build', '-C', d]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(d, 'published'), 'utf8'), `${out} up-to-date=0\n${out} up-to-date=1\n`, 'publish runs after every successful build');

    writeAs(join(d, 'hooks/prune/30-fail'), 'echo "first words"\necho "last words" >&2\nexit 3\n');
    r = await kiln(['build', '-C', d]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^kiln: error: hook prune\/30-fail exited with status 3$/m);
    assert.match(r.stderr, /^ {2}\| first words\n {2}\| last words$/m);
    assert.equal(readFileSync(join(d, 'error.msg'), 'utf8'), 'hook prune/30-fail exited with status 3\n');
    assert.match(readFileSync(join(d, 'error.log'), 'utf8'), /\[hook prune\/30-fail\] last words/);
    assert.ok(existsSync(out), 'the earlier output is still there');
    assert.doesNotMatch(readFileSync(join(d, 'published'), 'utf8'), /\n.*\n.*\n/, 'no publish after a failure');
  });

  test('a dry run prints the stages, packages and outputs, and changes nothing', async () => {
    const before = readdirSync(join(dir, 'out')).map((n) => `${n}:${statSync(join(dir, 'out', n)).mtimeMs}`);
    const stored = readdirSync(join(cache, 'checkpoints')).length;
    writeAs(join(dir, 'hooks/finalize/70-new'), 'true\n');
    const r = await kiln(['build', '--dry-run', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^stages:\n {2}resolve +run\n {2}fetch +reuse \(checkpoint [0-9a-f]{12}\)\n {2}unpack +reuse .*\n {2}configure +reuse .*\n {2}customize +reuse .*\n {2}prune +reuse .*\n {2}finalize +run +[0-9a-f]{12}\n {2}output +run +[0-9a-f]{12}\npackages:\n/m);
    assert.match(r.stdout, /^ {2}bash 5\.\S+ +amd64 +\d+\.\d MiB +\(/m);
    assert.match(r.stdout, /^\d+ packages, \d+\.\d MiB; nothing to download \(reused\)$/m);
    assert.match(r.stdout, /^outputs: .*out\/image\.tar$/m);
    assert.deepEqual(readdirSync(join(dir, 'out')).map((n) => `${n}:${statSync(join(dir, 'out', n)).mtimeMs}`), before);
    assert.equal(readdirSync(join(cache, 'checkpoints')).length, stored);
  });

  test('kiln cache prune empties the store; the next build runs every stage', async () => {
    const r = await kiln(['cache', 'prune', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed \d+ checkpoints, .*; 0 left$/m);
    const oneOff = await kiln(['build', '-C', dir, '--set', 'build.checkpoints=false']);
    assert.equal(oneOff.code, 0, oneOff.stderr);
    assert.doesNotMatch(oneOff.stderr, /^checkpoint /m, 'build.checkpoints = false stores none');
    assert.deepEqual(readdirSync(join(cache, 'checkpoints')), []);
    rmSync(join(dir, 'out/image.manifest.json'));
    const again = await kiln(['build', '-C', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(ranStages(again.stderr), ['unpack', 'configure', 'customize', 'prune', 'finalize', 'output']);
    const bad = await kiln(['build', '-C', dir, '--rebuild', 'bogus']);
    assert.equal(bad.code, 2);
  });
});
