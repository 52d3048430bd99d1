/**
 * The reproducibility matrix (issue 14) for Debian bookworm amd64: one
 * configuration with every output, built twice by test/helpers/repro.ts:
 * first from a cache with no checkpoints (downloads linked in), umask 022,
 * TZ=UTC, LANG=C.UTF-8; then a minute later in another directory from a
 * warm copy of that cache in another cache directory (its own secret),
 * under umask 002 with another TZ and LANG. Every output must have the same sha256 (the
 * directory by a listing of its content), the manifest and SBOM the same
 * apart from the build time, and the image must carry none of what
 * finalize's normalisation removes. Then `kiln diff` on disk images (each
 * partition read by file, the ESP's vfat too): the two builds' are
 * identical; a third build with another build.seed differs in the partition
 * table's and filesystems' ids and the fstab only; a fourth with one package
 * more names that package and its files (time and peak memory printed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, kiln } from '../helpers/kiln.ts';
import { assertSameOutputs, assertSameRecords, buildIn, buildTwice, OUTPUT_FILES, type ReproBuild, treeListing } from '../helpers/repro.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const FORMATS = ['directory', 'tar', 'tar.gz', 'tar.xz', 'tar.zst', 'ext4', 'erofs', 'squashfs', 'disk', 'qcow2', 'partitions', 'cpio', 'oci'];

const toml = (formats: string[], install: string[] = ['openssh-server'], extra = '') => `[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"

[packages]
base = "minimal"
install = ${JSON.stringify(install)}

[[partition]]
type = "esp"
size = "64M"
filesystem = "vfat"
contents = "/efi"

[[partition]]
type = "root"
filesystem = "ext4"
size = "auto"

[output]
format = ${JSON.stringify(formats)}
${extra}`;

/** `kiln diff --json A B` under /usr/bin/time: the report, the exit status, seconds and peak memory (MB). */
async function diffJson(a: string, b: string): Promise<{ code: number; report: { identical: boolean; header: { removed: string[]; added: string[] }; packages: { name: string | null; status: string; changes: { path: string }[] }[] }; seconds: number; peakMb: number }> {
  const timing = join(imageDir(), 'time');
  const started = Date.now();
  const r = await kiln(['diff', '--json', a, b], { wrap: ['/usr/bin/time', '-f', '%M', '-o', timing] });
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout), seconds: (Date.now() - started) / 1000, peakMb: Number(readFileSync(timing, 'utf8').trim().split('\n').at(-1)) / 1024 };
}

describe('Debian bookworm amd64: every output bit-identical across builds, directories, caches, umasks, TZ and LANG', { skip }, () => {
  let first: ReproBuild;
  let second: ReproBuild;
  const dirs: string[] = [];
  before(async () => {
    const [pair] = await buildTwice('repro matrix (Debian bookworm amd64)', [{ label: 'amd64', toml: toml(FORMATS) }]);
    ({ first, second } = pair!);
    dirs.push(first.dir, second.dir);
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('every output file has the same sha256 (tar, compressed tars, ext4, erofs, squashfs, GPT disk, qcow2, each partition image, cpio, OCI)', () => {
    assertSameOutputs(first.out, second.out, FORMATS.filter((f) => f !== 'directory').map((f) => OUTPUT_FILES[f] as string));
  });

  test('the directory output has the same content listing (paths, types, modes, owners, times, sizes, targets, digests)', () => {
    assert.deepEqual(treeListing(join(second.out, 'image')), treeListing(join(first.out, 'image')));
  });

  test('manifest and SBOM are identical apart from the build time', () => {
    assertSameRecords(first.out, second.out);
  });

  test("the image carries none of what finalize's normalisation removes, and makes its ssh host keys on first boot", () => {
    const root = join(first.out, 'image');
    const ssh = readdirSync(join(root, 'etc/ssh'));
    assert.ok(ssh.includes('sshd_config'), ssh.join(' '));
    assert.deepEqual(ssh.filter((n) => n.startsWith('ssh_host_')), [], 'no ssh host keys in the image');
    assert.match(readFileSync(join(root, 'etc/systemd/system/kiln-ssh-keygen.service'), 'utf8'), /ExecStart=\/usr\/bin\/ssh-keygen -A/);
    assert.equal(readlinkSync(join(root, 'etc/systemd/system/ssh.service.wants/kiln-ssh-keygen.service')), '/etc/systemd/system/kiln-ssh-keygen.service');
    for (const gone of ['var/log/dpkg.log', 'var/log/alternatives.log', 'var/cache/ldconfig/aux-cache', 'var/lib/systemd/random-seed']) assert.equal(existsSync(join(root, gone)), false, gone);
    const logs = spawnSync('find', ['var/log', '-type', 'f', '-size', '+0'], { cwd: root, encoding: 'utf8' });
    assert.equal(logs.stdout, '', 'every log in the image is empty');
    assert.equal(existsSync(join(root, 'etc/machine-id')) ? readFileSync(join(root, 'etc/machine-id'), 'utf8') : '', '');
  });

  test('kiln diff: the two disk images are identical, read by partition; the two ext4 images too', async () => {
    const disks = await diffJson(join(first.out, 'image.raw'), join(second.out, 'image.raw'));
    assert.equal(disks.code, 0, JSON.stringify(disks.report).slice(0, 2000));
    const ext4 = await diffJson(join(first.out, 'image.ext4'), join(second.out, 'image.ext4'));
    assert.equal(ext4.code, 0, JSON.stringify(ext4.report).slice(0, 2000));
  });

  test('another build.seed: the partition table ids and the fstab that names them differ, nothing else', async () => {
    const dir = imageDir(toml(['disk'], ['openssh-server'], '\n[build]\nseed = "another seed"\n'));
    dirs.push(dir);
    const other = await buildIn(dir, first.cache, { umask: '022' });
    const d = await diffJson(join(first.out, 'image.raw'), join(other.out, 'image.raw'));
    assert.equal(d.code, 1);
    const changed = d.report.packages.flatMap((p) => p.changes.map((c) => c.path)).sort();
    // The ESP is read by file: its files are the same, its volume id (in the header) is not.
    assert.deepEqual(changed, ['etc/fstab'], 'only the fstab names the ids');
    const shape = (lines: string[]) => lines.map((l) => l.replace(/(GUID|PARTUUID|UUID|signature) \S+/g, '$1 X'));
    assert.ok(d.report.header.removed.length >= 3, 'the disk GUID and both partition GUIDs changed');
    assert.ok(d.report.header.added.some((l) => /^partition 1 filesystem: vfat UUID /.test(l)), 'the volume id of the ESP changed');
    assert.deepEqual(shape(d.report.header.added), shape(d.report.header.removed), 'starts, sizes and types are the same');
    // Someone else's reader: sgdisk sees the same layout with other GUIDs.
    const layout = (raw: string) => spawnSync('sgdisk', ['-p', raw], { encoding: 'utf8' }).stdout.replace(/Disk identifier \(GUID\): \S+/, '').replace(/^Disk .*raw:/m, '');
    assert.equal(layout(join(other.out, 'image.raw')), layout(join(first.out, 'image.raw')));
  });

  test('one package more: kiln diff of the two disk images names the package and its files (time and peak memory printed)', async (t) => {
    const dir = imageDir(toml(['disk'], ['openssh-server', 'hello']));
    dirs.push(dir);
    const more = await buildIn(dir, first.cache, { umask: '022' });
    const d = await diffJson(join(first.out, 'image.raw'), join(more.out, 'image.raw'));
    t.diagnostic(`kiln diff of two ${(lstatSync(join(first.out, 'image.raw')).size / 2 ** 20).toFixed(0)} MiB disk images: ${d.seconds.toFixed(1)} s, peak ${d.peakMb.toFixed(0)} MB`);
    process.stderr.write(`kiln diff of two disk images: ${d.seconds.toFixed(1)} s, peak ${d.peakMb.toFixed(0)} MB\n`);
    assert.equal(d.code, 1);
    const hello = d.report.packages.find((p) => p.name === 'hello');
    assert.ok(hello, JSON.stringify(d.report.packages.map((p) => p.name)));
    assert.equal(hello.status, 'added');
    assert.ok(hello.changes.some((c) => c.path === 'usr/bin/hello'), JSON.stringify(hello.changes.map((c) => c.path)));
    const text = await kiln(['diff', join(first.out, 'image.raw'), join(more.out, 'image.raw')]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^package hello \(added, [^)]+\): \d+ paths$/m);
    assert.match(text.stdout, /^ {2}\+ \/usr\/bin\/hello {2}file /m);
  });
});
