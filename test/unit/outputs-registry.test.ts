/**
 * The output registry: writers run in the order their declarations imply
 * (made-from first, the tree-taker last), their host tools are checked and
 * listed from the same declarations, and the settings table's formats are
 * the registry's names. Imaginary writers live in test registries only.
 */
import type { Config } from '../../src/config/index.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS } from '../../src/config/index.ts';
import { checkOutputTools, OUTPUT_FORMATS, OUTPUTS, outputTools, writeOutputs, writerOrder, type OutputRegistry, type OutputWriter } from '../../src/outputs/index.ts';
import { outputChecks } from '../../src/cli/doctor.ts';
import { formatPlan } from '../../src/cli/dry-run.ts';
import type { BuildResult } from '../../src/pipeline/build.ts';
import { UserError } from '../../src/util/errors.ts';

/** An imaginary writer: a file made from the tree, or from other outputs (their contents joined). */
function writer(from: string[] = [], extra: Partial<OutputWriter> = {}): OutputWriter {
  return {
    fileName: (name) => `${name}.${from.length ? 'made' : 'file'}-${Math.random().toString(36).slice(2, 6)}`,
    tools: [],
    from,
    takesTree: false,
    write: async ({ tmp, made, root }) => {
      const content = from.length ? from.map((f) => readFileSync(made[f]!, 'utf8')).join('+') : readFileSync(join(root, 'content'), 'utf8');
      writeFileSync(tmp, `${content}!`);
    },
    ...extra,
  };
}

const noTools = () => undefined;
const allTools = (command: string) => `/usr/bin/${command}`;

test('a writer made from another output runs after it, even when asked first', () => {
  const registry: OutputRegistry = { disk: writer(), image: writer(['disk']), tarball: writer() };
  assert.deepEqual(writerOrder(['image', 'disk'], registry), ['disk', 'image']);
  assert.deepEqual(writerOrder(['image', 'tarball', 'disk'], registry), ['disk', 'image', 'tarball']);
  // Asked alone, it brings what it is made from.
  assert.deepEqual(writerOrder(['image'], registry), ['disk', 'image']);
});

test('made-from chains are ordered through; what takes the tree runs after every writer not made from it', () => {
  const registry: OutputRegistry = {
    tree: writer([], { takesTree: true }),
    fs: writer(),
    disk: writer(['fs']),
    compressed: writer(['disk']),
    fromTree: writer(['tree']),
  };
  assert.deepEqual(writerOrder(['compressed', 'tree', 'fs'], registry), ['fs', 'disk', 'compressed', 'tree']);
  assert.deepEqual(writerOrder(['fromTree', 'fs'], registry), ['fs', 'tree', 'fromTree']);
});

test('a registry whose writers are made from each other, or from nothing known, is refused', () => {
  const registry: OutputRegistry = { a: writer(['b']), b: writer(['a']), c: writer(['nowhere']) };
  assert.throws(() => writerOrder(['a'], registry), /made from each other: a -> b -> a/);
  assert.throws(() => writerOrder(['c'], registry), /output c is made from nowhere, which no writer makes/);
});

test("the real registry: every writer's sources exist, the directory goes last, and output.format accepts exactly its names", () => {
  for (const [format, w] of Object.entries(OUTPUTS)) for (const source of w.from) assert.ok(source in OUTPUTS, `${format} is made from ${source}`);
  assert.deepEqual(writerOrder(['directory', 'tar.zst', 'tar']), ['tar.zst', 'tar', 'directory']);
  assert.deepEqual(OUTPUT_FORMATS, Object.keys(OUTPUTS));
  const kind = SETTINGS['output.format'].kind;
  assert.deepEqual(kind.parse([...OUTPUT_FORMATS], false), { value: OUTPUT_FORMATS });
  assert.ok('error' in kind.parse(['vmdk'], false));
  assert.match(SETTINGS['output.format'].help, new RegExp(OUTPUT_FORMATS.map((f) => f.replace('.', '\\.')).join(', ')));
});

test('each output lists the host tools its writer runs', () => {
  const tools = (format: (typeof OUTPUT_FORMATS)[number]) => outputTools([format], OUTPUTS, allTools)[0]!.tools.map((t) => `${t.tool.command}:${t.tool.packages[0]}`);
  assert.deepEqual(tools('tar'), ['getfattr:attr']);
  assert.deepEqual(tools('tar.gz'), ['getfattr:attr', 'gzip:gzip']);
  assert.deepEqual(tools('tar.xz'), ['getfattr:attr', 'xz:xz-utils']);
  assert.deepEqual(tools('tar.zst'), ['getfattr:attr', 'zstd:zstd']);
  assert.deepEqual(tools('directory'), ['cp:coreutils']);
});

test('a missing host tool of a chosen output is a user error naming the tool and its Debian package', () => {
  const noZstd = (command: string) => (command === 'zstd' ? undefined : `/usr/bin/${command}`);
  assert.doesNotThrow(() => checkOutputTools(['tar', 'tar.xz', 'directory'], OUTPUTS, noZstd));
  assert.throws(
    () => checkOutputTools(['tar', 'tar.zst'], OUTPUTS, noZstd),
    (err: unknown) => err instanceof UserError && err.exitCode === 2 && /tar\.zst output needs zstd/.test(err.message) && /install the package zstd \(Debian/.test(err.hint ?? ''),
  );
  // The tool of an output that is only made to make another one counts too.
  const mkfs = { command: 'mkfs.imaginary', packages: ['imaginary-tools', 'imaginary', 'imaginary-utils'] } as const;
  const registry: OutputRegistry = { fs: writer([], { tools: [mkfs] }), disk: writer(['fs']) };
  assert.throws(
    () => checkOutputTools(['disk'], registry, noTools),
    (err: unknown) => err instanceof UserError && /fs output needs mkfs\.imaginary/.test(err.message) && /imaginary-tools/.test(err.hint ?? ''),
  );
});

test('kiln doctor lists every output with its tools and the packages of what is missing', () => {
  const noXz = (command: string) => (command === 'xz' ? undefined : `/usr/bin/${command}`);
  const checks = new Map(outputChecks(OUTPUTS, noXz).map((c) => [c.what, c]));
  assert.deepEqual([...checks.keys()], OUTPUT_FORMATS.map((f) => `output ${f}`));
  assert.equal(checks.get('output tar')!.ok, true);
  assert.equal(checks.get('output tar')!.detail, 'getfattr /usr/bin/getfattr');
  const xz = checks.get('output tar.xz')!;
  assert.equal(xz.ok, false);
  assert.equal(xz.required, false);
  assert.equal(xz.detail, 'getfattr /usr/bin/getfattr, xz not found');
  assert.deepEqual(xz.packages, ['xz-utils', 'xz', 'xz']);
});

test('the dry run prints each output with its host tools', () => {
  const result: BuildResult = { plan: { packages: [] } as unknown as BuildResult['plan'], outputs: ['/o/image.tar.zst', '/o/image'], stages: [], upToDate: false };
  const text = formatPlan(result, ['directory', 'tar.zst']);
  assert.match(text, /^outputs: \/o\/image\.tar\.zst, \/o\/image$/m);
  assert.match(text, /^ {2}tar\.zst\s+host tools: getfattr, zstd$/m);
  assert.match(text, /^ {2}directory\s+host tools: cp$/m);
});

test('writeOutputs hands a writer the outputs it is made from, keeps only those asked for, and puts the records beside them', async () => {
  const base = mkdtempSync(join(tmpdir(), 'kiln-outputs-'));
  const root = join(base, 'root');
  const out = join(base, 'out');
  mkdirSync(root);
  writeFileSync(join(root, 'content'), 'tree');
  const registry: OutputRegistry = { disk: { ...writer(), fileName: (n) => `${n}.disk` }, image: { ...writer(['disk']), fileName: (n) => `${n}.image` } };
  const temporaries = new Set<string>();
  let described: string[] = [];
  const written = await writeOutputs(
    {
      root,
      formats: ['image'],
      directory: out,
      name: 'x',
      sourceDateEpoch: 1,
      rootOnTmpfs: false,
      config: {} as Config,
      imageDir: base,
      machine: 'x86_64',
      architecture: 'amd64',
      seed: 'test',
      emit: () => {},
      temporaries,
      records: async (outputs) => {
        described = outputs.map((o) => `${o.format}:${readFileSync(o.tmp, 'utf8')}`);
        return [{ final: join(out, 'x.record'), content: 'about x' }];
      },
    },
    registry,
  );
  assert.deepEqual(written, [join(out, 'x.image')]);
  assert.deepEqual(described, ['image:tree!!']);
  assert.deepEqual(readdirSync(out).sort(), ['x.image', 'x.record']);
  assert.equal(readFileSync(join(out, 'x.image'), 'utf8'), 'tree!!');
  assert.equal(existsSync(join(out, 'x.disk')), false);
  assert.deepEqual([...temporaries], []);
});
