/**
 * The contract every entry of FORMATS keeps, through its public interface
 * only: a fixture repository in the format's real layout, served on
 * 127.0.0.1, is planned (index, signatures, dependencies), fetched,
 * verified where the format verifies, unpacked and configured into a
 * temporary root; the format's inventory of that root then lists exactly
 * the plan's packages: names, versions and architectures.
 *
 * Configure is part of the round: Debian's inventory counts what dpkg calls
 * installed, and unpack leaves packages "unpacked". The fixtures hold no
 * package scripts, so the one command configure runs (dpkg --configure -a,
 * for deb) runs with the host's dpkg on the tree (--root); any other command
 * fails the test.
 *
 * Unpack chowns what it extracts (a build runs it as root of its
 * namespace): this test runs as root, as CI does.
 *
 * A new format is a compile error here until it has a fixture.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FormatName } from '../../src/catalog/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { FORMATS, installerFor, makePlan, verifierFor, type InstallEnvironment } from '../../src/formats/index.ts';
import type { PlannedPackage, RunInTreeOptions } from '../../src/formats/types.ts';
import { BlobStore, downloadAll, readVerified } from '../../src/repo/index.ts';
import type { Emit } from '../../src/util/events.ts';
import { VERSION } from '../../src/version.ts';
import { fakeArchSkipReason, makeFakeArchRepos } from '../helpers/fake-arch.ts';
import { makeFakeArchive } from '../helpers/fake-debian.ts';
import { apkFixtureSkipReason, makeApkRepos } from '../helpers/apk-fixture.ts';
import { missingTools, skipOrFail } from '../helpers/host-tools.ts';
import { isRoot } from '../helpers/kiln.ts';
import { startMirror, type Mirror } from '../helpers/mirror-server.ts';

interface ServedFixture {
  /** kiln.toml of an image built from the fixture repository. */
  toml: string;
  mirror: Mirror;
}

interface Fixture {
  /** Why the fixture cannot be made here, or undefined. */
  skip(): string | undefined;
  /** Makes the repository under `work` and serves it on 127.0.0.1. */
  serve(work: string): Promise<ServedFixture>;
  /** What configure may run in the tree (the fixtures hold no package scripts), run with the host's tools. */
  runInTree(root: string, argv: string[], opts: RunInTreeOptions): Promise<void>;
}

function run(argv: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`))));
  });
}

function unexpected(argv: string[]): Promise<void> {
  return Promise.reject(new Error(`configure ran ${JSON.stringify(argv)}: the contract fixtures hold no package scripts`));
}

const FIXTURES: Record<FormatName, Fixture> = {
  deb: {
    skip: () => missingTools(['dpkg-deb', 'dpkg', 'xz']),
    async serve(work) {
      const archive = await makeFakeArchive(work, {
        packageArch: 'amd64',
        packages: [
          { name: 'tiny' },
          { name: 'tiny-lib', version: '2.1-3', essential: false },
          { name: 'tiny-app', version: '1:0.9~rc1-1', essential: false, depends: 'tiny-lib (>= 2.0)' },
        ],
      });
      const mirror = await startMirror(archive.root);
      const toml = `[distribution]\nname = "debian"\nrelease = "${archive.suite}"\narchitecture = "amd64"\nmirror = "${mirror.url}"\nkeyring = ["${archive.keyring}"]\n\n[packages]\nbase = "essential"\ninstall = ["tiny-app"]\n`;
      return { toml, mirror };
    },
    runInTree(root, argv, opts) {
      if (argv[0] !== 'dpkg') return unexpected(argv);
      return run(['dpkg', `--root=${root}`, ...argv.slice(1)], opts.env ?? {});
    },
  },
  pacman: {
    skip: () => fakeArchSkipReason(['x86_64']),
    async serve(work) {
      const repos = await makeFakeArchRepos(join(work, 'arch'), { architectures: ['x86_64'] });
      const mirror = await startMirror(repos.root);
      // kiln-marks needs sh>=1.0, which only busybox provides: a dependency, and no package scripts or hooks.
      const toml = `[distribution]\nname = "archlinux"\narchitecture = "x86_64"\nmirror = "${mirror.url}/$repo/os/$arch"\nkeyring = ["${repos.keyring}"]\n\n[packages]\nbase = "none"\ninstall = ["kiln-marks", "kiln-extra-tool"]\n`;
      return { toml, mirror };
    },
    runInTree: (_root, argv) => unexpected(argv),
  },
  apk: {
    skip: () => apkFixtureSkipReason(['x86_64']),
    async serve(work) {
      const repos = await makeApkRepos(join(work, 'alpine'), { architectures: ['x86_64'] });
      const mirror = await startMirror(repos.root);
      // hello and what it needs (so:, cmd:, a provider_priority choice, tricky versions): no package scripts.
      const toml = `[distribution]\nname = "alpine"\nrelease = "${repos.release}"\narchitecture = "x86_64"\nmirror = "${mirror.url}/alpine"\nrepositories = ["${repos.repo}"]\nkeyring = ["${repos.keysDir}"]\n\n[packages]\nbase = "none"\ninstall = ["hello"]\n`;
      return { toml, mirror };
    },
    runInTree: (_root, argv) => unexpected(argv),
  },
};

const identity = (p: { name: string; version: string; architecture: string }) => `${p.name} ${p.version} ${p.architecture}`;

const work = mkdtempSync(join(tmpdir(), 'kiln-formats-contract-'));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

describe('every package format: fixture repository -> plan -> unpack -> configure -> inventory equals the plan', () => {
  for (const name of Object.keys(FORMATS) as FormatName[]) {
    const fixture = FIXTURES[name];
    const skip = skipOrFail(fixture.skip() ?? (isRoot ? undefined : 'unpack chowns what it extracts: run as root (CI does)'));
    test(name, { skip, timeout: 600_000 }, async () => {
      const dir = join(work, name);
      mkdirSync(join(dir, 'image'), { recursive: true });
      const { toml, mirror } = await fixture.serve(dir);
      try {
        writeFileSync(join(dir, 'image', 'kiln.toml'), toml);
        const loaded = loadConfig({ dir: join(dir, 'image'), env: {} });
        assert.equal(loaded.distribution.format, name);
        const format = FORMATS[name];
        const warnings: string[] = [];
        const emit: Emit = (e) => {
          if (e.kind === 'log' && e.level === 'warn') warnings.push(e.message);
        };
        const store = new BlobStore(join(dir, 'cache', 'downloads'));
        const planContext = { config: loaded.config, distribution: loaded.distribution, store, memoDir: join(dir, 'cache', 'plans'), kilnVersion: VERSION, emit, origins: { install: {}, base: 'default' } };
        const plan = await makePlan(planContext);
        assert.equal(plan.format, name);
        assert.ok(plan.packages.length >= 3, `the fixture plans a few packages: ${plan.packages.map(identity).join(', ')}`);

        const fetched = await downloadAll(store, plan.packages.map((p) => ({ urls: p.urls, sha256: p.sha256, size: p.size, name: p.name })), { emit });
        const blobs = Object.fromEntries(fetched.map((r) => [r.name, r.path]));
        const readPackage = (p: PlannedPackage) => readVerified(store, { urls: p.urls, sha256: p.sha256, size: p.size, name: p.name }, { emit });
        await verifierFor(plan)?.({ ...planContext, blobs, readPackage });

        const root = join(dir, 'root');
        mkdirSync(root, { mode: 0o755 });
        const env: InstallEnvironment = {
          root, blobs, readPackage, config: loaded.config, emit, cacheDir: join(dir, 'cache'), sourceDateEpoch: plan.repositoryDate,
          run: (argv, opts = {}) => fixture.runInTree(root, argv, opts),
        };
        const installer = installerFor(plan, env);
        await installer.unpack();
        await installer.configure();

        const inventoryWarnings: string[] = [];
        const installed = await format.inventory(root, (m) => inventoryWarnings.push(m));
        assert.deepEqual(installed.map(identity).sort(), plan.packages.map(identity).sort());
        assert.deepEqual(inventoryWarnings, []);
        assert.deepEqual(warnings, []);
      } finally {
        await mirror.close();
      }
    });
  }
});
