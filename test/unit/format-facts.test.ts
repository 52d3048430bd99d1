/**
 * What kiln outside src/formats knows about a format is one table
 * (src/formats/facts.ts): every format in FORMATS has every fact, and a
 * format (or a fact) left out is a compile error, not a silent default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOARDS } from '../../src/catalog/index.ts';
import { SETTING_KEYS } from '../../src/config/index.ts';
import { FORMAT_FACTS, type FormatFacts } from '../../src/formats/facts.ts';
import { FORMATS } from '../../src/formats/index.ts';
import { programErrors, typeErrors } from '../helpers/typecheck.ts';

const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));
const factsModule = src('formats/facts.ts');

/** Every fact, with a value of the right type: the compiler checks this list against FormatFacts both ways. */
const EVERY_FACT = {
  releases: 'named',
  mirror: 'url',
  ownSettings: [],
  family: 'test distributions',
  defaultKeyring: 'every',
  purlType: 'test',
  sourceKind: 'source package',
  emulatorFromArchive: false,
  boardPackages: { 'x86_64-uefi': [], 'x86_64-bios': [], 'generic-x86_64': [], 'generic-aarch64': [],
    'aarch64-uefi': [], 'aarch64-uboot': [], 'riscv64-uboot': [], 'raspberrypi-4': [], 'raspberrypi-2': [], 'rock64-rk3328': [] },
  raspberryPiFirmwareDirectory: '/boot',
} satisfies Required<FormatFacts>;
const FACT_NAMES = Object.keys(EVERY_FACT) as (keyof FormatFacts)[];

test('every format in FORMATS has every fact, and the facts table names no other format', () => {
  assert.deepEqual(Object.keys(FORMAT_FACTS).sort(), Object.keys(FORMATS).sort());
  for (const [name, facts] of Object.entries(FORMAT_FACTS)) {
    for (const fact of FACT_NAMES) assert.notEqual(facts[fact], undefined, `${name} has no ${fact}`);
    assert.deepEqual(Object.keys(facts).sort(), [...FACT_NAMES].sort(), `${name}'s facts`);
    assert.deepEqual(Object.keys(facts.boardPackages).sort(), Object.keys(BOARDS).sort(), `${name} names packages for every board`);
    for (const key of facts.ownSettings) assert.ok(SETTING_KEYS.includes(key), `${name}: ${key} is a setting`);
  }
});

test('a format entry with every fact compiles; one that leaves out a fact, or a board, does not, and the error names what is missing', () => {
  const { 'raspberrypi-2': _board, ...someBoards } = EVERY_FACT.boardPackages;
  const entries = [
    EVERY_FACT,
    ...FACT_NAMES.map((fact) => Object.fromEntries(Object.entries(EVERY_FACT).filter(([name]) => name !== fact))),
    { ...EVERY_FACT, boardPackages: someBoards },
  ];
  // One program for all of them (each is checked on its own line; errors come in source order).
  const errors = typeErrors(
    `import type { FormatFacts } from ${JSON.stringify(factsModule)};\n` + entries.map((facts, i) => `export const apk${i}: FormatFacts = ${JSON.stringify(facts)};\n`).join(''),
  );
  const expected = [...FACT_NAMES.map((fact) => new RegExp(`Property '${fact}' is missing`)), /Property '"raspberrypi-2"' is missing/];
  assert.equal(errors.length, expected.length, errors.join('\n'));
  expected.forEach((pattern, i) => assert.match(errors[i] as string, pattern));
});

test('a new format name does not compile until FORMATS and the facts table have an entry for it; nothing else in kiln needs one', () => {
  const names = src('catalog/types.ts');
  const text = readFileSync(names, 'utf8');
  const declared = "export type FormatName = 'deb' | 'pacman' | 'apk';";
  assert.ok(text.includes(declared), 'catalog/types.ts declares the format names as this test expects');
  const errors = programErrors([src('cli/main.ts')], { [names]: text.replace(declared, "export type FormatName = 'deb' | 'pacman' | 'apk' | 'rpm';") });
  const where = errors.map((e) => `${e.file ? relative(src('.'), e.file) : '-'}: ${e.message.split('\n')[0]}`);
  assert.deepEqual(
    [...new Set(where.map((w) => w.split(':')[0]))].sort(),
    ['formats/facts.ts', 'formats/index.ts'],
    where.join('\n'),
  );
  assert.ok(where.some((w) => w.startsWith('formats/facts.ts') && /'rpm' is missing/.test(w)), where.join('\n'));
  assert.ok(where.some((w) => w.startsWith('formats/index.ts') && /'rpm' is missing/.test(w)), where.join('\n'));
});
