/**
 * The cpio and OCI writers in the output registry: their file names, the
 * host tools each lists (and so `kiln doctor` and the pre-build check), the
 * order (oci before oci.tar), and writeOutputs through the real registry:
 * oci.tar alone leaves no layout behind, the details reach the records.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Config } from '../../src/config/index.ts';
import { OUTPUTS, outputPath, outputTools, writeOutputs, writerOrder, type OutputFormat, type Written } from '../../src/outputs/index.ts';
import { run, tempDir } from '../fixtures/archive-helpers.ts';

const allTools = (command: string) => `/usr/bin/${command}`;

test('file names, host tools and order of the cpio and OCI outputs', () => {
  const names = (['cpio', 'cpio.gz', 'cpio.zst', 'oci', 'oci.tar'] as OutputFormat[]).map((f) => outputPath('/o', 'image', f));
  assert.deepEqual(names, ['/o/image.cpio', '/o/image.cpio.gz', '/o/image.cpio.zst', '/o/image.oci', '/o/image.oci.tar']);
  const tools = (format: OutputFormat) => outputTools([format], OUTPUTS, allTools).map((o) => `${o.format}${o.intermediate ? ' (made for another)' : ''}: ${o.tools.map((t) => `${t.tool.command}:${t.tool.packages[0]}`).join(' ')}`);
  assert.deepEqual(tools('cpio'), ['cpio: getfattr:attr']);
  assert.deepEqual(tools('cpio.gz'), ['cpio.gz: getfattr:attr gzip:gzip']);
  assert.deepEqual(tools('cpio.zst'), ['cpio.zst: getfattr:attr zstd:zstd']);
  assert.deepEqual(tools('oci'), ['oci: getfattr:attr gzip:gzip']);
  assert.deepEqual(tools('oci.tar'), ['oci (made for another): getfattr:attr gzip:gzip', 'oci.tar: ']);
  assert.deepEqual(writerOrder(['oci.tar', 'cpio']), ['oci', 'oci.tar', 'cpio']);
  for (const f of ['cpio', 'cpio.gz', 'cpio.zst', 'oci', 'oci.tar'] as OutputFormat[]) assert.equal(OUTPUTS[f].takesTree, false, f);
});

test('writeOutputs with oci.tar and cpio: the layout is made and removed, the details reach the records', async (t) => {
  const base = tempDir(t, 'cpio-oci');
  const root = join(base, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/hostname'), 'kiln\n');
  const out = join(base, 'out');
  let described: Written[] = [];
  const config = { 'distribution.name': 'debian', 'distribution.release': 'bookworm', 'distribution.architecture': 'amd64', 'output.name': 'image', 'oci.env': {}, 'oci.labels': {}, 'oci.annotations': {}, 'oci.tag': 'latest' } as unknown as Config;
  const written = await writeOutputs({
    root,
    formats: ['oci.tar', 'cpio'],
    directory: out,
    name: 'image',
    sourceDateEpoch: 1_700_000_000,
    rootOnTmpfs: false,
    config,
    machine: 'x86_64',
    architecture: 'amd64',
    seed: 'test',
    imageDir: '/nonexistent',
    emit: () => {},
    temporaries: new Set(),
    records: async (outputs) => {
      described = outputs;
      return [];
    },
  });
  assert.deepEqual(written, [join(out, 'image.oci.tar'), join(out, 'image.cpio')]);
  assert.deepEqual(readdirSync(out).sort(), ['image.cpio', 'image.oci.tar'], 'no layout directory left');
  assert.deepEqual(described.find((o) => o.format === 'cpio')?.details, { entries: 3 });
  // oci.tar says what the layout it holds is: the manifest's digest, the config's, the layer's.
  const details = described.find((o) => o.format === 'oci.tar')?.details as { digest: string; config: string; layers: string[]; tag: string };
  assert.match(details.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(details.tag, 'latest');
  const names = run('tar', ['-tf', join(out, 'image.oci.tar')]).toString().split('\n');
  for (const d of [details.digest, details.config, ...details.layers]) assert.ok(names.includes(`blobs/sha256/${d.slice(7)}`), d);
});
