/**
 * Reproducibility of a real Debian bookworm image (issue 14): the package
 * scripts see SOURCE_DATE_EPOCH (so /etc/shadow's dates are its day, not
 * the build's), and two caches give the same manifest key, SBOM and tar
 * when nothing secret is set. With a password the keys are per cache, by
 * design (the key must not reveal it), but stable in each.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { assertSameManifest, freshCache, readJson, sha256 } from '../helpers/repro.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const TOML = (mirrorUrl: string) =>
  `[distribution]\nname = "debian"\nrelease = "bookworm"\narchitecture = "amd64"\nmirror = "${mirrorUrl}"\n\n[packages]\nbase = "minimal"\n\n[output]\nformat = ["tar"]\n\n[[hook]]\nstage = "publish"\nname = "10-date"\nrun = 'echo "$SOURCE_DATE_EPOCH" > "$KILN_OUTPUT_DIR/publish-date"'\n`;

/** Two days before today, at noon: its day is not today's, whatever the time zone. */
const DAY = Math.floor(Date.now() / 86_400_000) - 2;
const SDE = DAY * 86_400 + 12 * 3600;

interface Built {
  dir: string;
  cache: string;
  manifest: Record<string, unknown>;
  sbom: unknown;
  tarSha256: string;
}

async function buildIn(cache: string): Promise<Built> {
  const dir = imageDir(TOML(mirror as string));
  const r = await kiln(['build', '-C', dir], { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: String(SDE) } });
  assert.equal(r.code, 0, r.stderr);
  return { dir, cache, manifest: readJson(join(dir, 'out/image.manifest.json')), sbom: readJson(join(dir, 'out/image.spdx.json')), tarSha256: sha256(join(dir, 'out/image.tar')) };
}

/** The stage keys `kiln build --dry-run --rebuild` prints (12 hex digits each), by stage; --rebuild: a stage the outputs stand in for shows none. */
async function dryRunKeys(dir: string, cache: string, sets: string[] = []): Promise<Record<string, string>> {
  const r = await kiln(['build', '-C', dir, '--dry-run', '--rebuild', ...sets.flatMap((s) => ['--set', s])], { env: { XDG_CACHE_HOME: cache, SOURCE_DATE_EPOCH: String(SDE) } });
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries([...r.stdout.matchAll(/^ {2}(\w+) +(?:run|reuse \([^)]*\)) +([0-9a-f]{12})$/gm)].map((m) => [m[1], m[2]]));
}

describe('Debian bookworm: reproducible across caches and days', { skip }, () => {
  let a: Built;
  let b: Built;
  before(async () => {
    a = await buildIn(freshCache());
    b = await buildIn(freshCache());
  });

  test("/etc/shadow's last-change fields are SOURCE_DATE_EPOCH's day (the maintainer scripts' pwconv sees it)", () => {
    const r = spawnSync('tar', ['-xOf', join(a.dir, 'out/image.tar'), '--wildcards', '*etc/shadow'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const entries = r.stdout.split('\n').filter(Boolean).map((line) => line.split(':'));
    assert.ok(entries.some((f) => f[0] === 'root'), r.stdout);
    const dates = entries.filter((f) => f[2] !== '').map((f) => `${f[0]}:${f[2]}`);
    assert.ok(dates.length > 10, r.stdout);
    assert.deepEqual(dates, entries.filter((f) => f[2] !== '').map((f) => `${f[0]}:${DAY}`));
  });

  test('two caches, nothing secret: the same manifest key, SBOM and tar; the manifest differs only in the build time', () => {
    assert.equal(a.manifest.key, b.manifest.key);
    assert.deepEqual(b.sbom, a.sbom);
    assert.equal(b.tarSha256, a.tarSha256);
    assertSameManifest(a.manifest, b.manifest);
  });

  test('the manifest says where SOURCE_DATE_EPOCH came from and which mirror the packages came from', () => {
    assert.equal(a.manifest.sourceDateEpoch, SDE);
    assert.equal(a.manifest.sourceDateEpochFrom, '$SOURCE_DATE_EPOCH');
    assert.deepEqual(a.manifest.mirrors, [mirror]);
    assert.equal(readFileSync(join(a.dir, 'out/publish-date'), 'utf8'), `${SDE}\n`, 'publish hooks see it too');
  });

  test('with a root password set, the keys are per cache (by design) but stable in each, and follow the password', async () => {
    const plain = await dryRunKeys(a.dir, a.cache);
    assert.equal(plain.output, String(a.manifest.key).slice(0, 12), 'the dry run shows the built key');
    assert.deepEqual(await dryRunKeys(b.dir, b.cache), plain);
    const withPassword = ['system.root-password=kiln-test-pw'];
    const inA = await dryRunKeys(a.dir, a.cache, withPassword);
    assert.deepEqual(await dryRunKeys(a.dir, a.cache, withPassword), inA, 'stable in its cache');
    assert.notEqual(inA.customize, plain.customize);
    assert.notEqual((await dryRunKeys(a.dir, a.cache, ['system.root-password=other-pw'])).customize, inA.customize, 'a new password, a new key');
    const inB = await dryRunKeys(b.dir, b.cache, withPassword);
    assert.notEqual(inB.customize, inA.customize, 'another cache, another key');
    assert.equal(inB.configure, inA.configure, 'the stages before customize are the same everywhere');
  });
});
