/**
 * The integration test's yardstick: the reader of /lib/apk/db/installed in
 * test/helpers/apk-fixture-db.ts, on a record written by hand the way
 * apk-tools writes one (index fields C P V A S I T U L o m t c k D p i, then
 * r:, then F:/M: and R:/a:/Z:), and the differences it must report.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { dbDifferences, parseInstalled, readTar } from '../helpers/apk-fixture-db.ts';
import { buildApk } from '../helpers/apk-fixture-package.ts';
import { makeApkKey, signerOf } from '../helpers/apk-fixture.ts';

const key = makeApkKey('kiln-db');
const q1 = (data: string | Buffer) => `Q1${createHash('sha1').update(data).digest('base64')}`;
const { built } = buildApk(
  {
    name: 'demo', version: '1.0_rc1-r2', arch: 'aarch64', desc: 'a demo', providerPriority: 5, depends: ['musl'], provides: ['cmd:demo=1.0_rc1-r2'], replaces: ['old-demo'],
    entries: [
      { path: 'etc/demo.conf', type: 'file', data: Buffer.from('x=1\n'), mode: 0o640, gid: 42, gname: 'shadow' },
      { path: 'usr/bin/demo', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
      { path: 'usr/bin/demo-link', type: 'symlink', target: 'demo' },
      { path: 'var/tmp', type: 'dir', mode: 0o1777 },
    ],
  },
  signerOf(key.info, key.secretPem),
  1_700_000_000,
);

/** The record as apk-tools writes it for `built`. */
const record = [
  `C:${built.checksum}`, 'P:demo', 'V:1.0_rc1-r2', 'A:aarch64', `S:${built.size}`, `I:${built.installedSize}`, 'T:a demo', 'U:https://kiln.invalid/', 'L:MIT', 'o:demo',
  'm:kiln tests <maintainer@kiln.invalid>', 't:1700000000', `c:${built.commit}`, 'k:5', 'D:musl', 'p:cmd:demo=1.0_rc1-r2', 'r:old-demo',
  'F:etc', 'R:demo.conf', 'a:0:42:640', `Z:${q1('x=1\n')}`,
  'F:usr', 'F:usr/bin', 'R:demo', 'a:0:0:755', `Z:${q1('#!/bin/sh\n')}`, 'R:demo-link', 'a:0:0:777', `Z:${q1('demo')}`,
  'F:var', 'F:var/tmp', 'M:0:0:1777',
].join('\n');

describe('apk fixture: the installed-database reader', () => {
  it('finds no difference in a record written as apk writes it', () => {
    const [db] = parseInstalled(`${record}\n\n`);
    assert.ok(db);
    assert.deepEqual(dbDifferences(db, built), []);
  });

  it('reports a missing a: line, a wrong Z:, a missing M:, an extra file and fields out of order', () => {
    const broken = record
      .replace('a:0:42:640\n', '')
      .replace(`Z:${q1('demo')}`, `Z:${q1('other')}`)
      .replace('\nM:0:0:1777', '')
      .replace('F:var\n', 'F:var\nR:stray\n')
      .replace('k:5\nD:musl', 'D:musl\nk:5');
    const [db] = parseInstalled(broken);
    assert.ok(db);
    const problems = dbDifferences(db, built);
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('etc/demo.conf a:(none), expected 0:42:640')));
    assert.ok(problems.some((p) => p.includes('usr/bin/demo-link Z:')));
    assert.ok(problems.some((p) => p.includes('F:var/tmp M:(none), expected 0:0:1777')));
    assert.ok(problems.some((p) => p.includes('R:stray under F:var is not in the package')));
    assert.ok(problems.some((p) => p.startsWith('demo-1.0_rc1-r2: fields')));
  });

  it('reads the entries of a plain tar (scripts.tar), GNU long names included', () => {
    const header = (name: string, size: number, type = '0') => {
      const h = Buffer.alloc(512);
      h.write(name.slice(0, 100), 0);
      h.write(size.toString(8).padStart(11, '0'), 124);
      h.write(type, 156);
      return h;
    };
    const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
    const long = `${'x'.repeat(120)}.Q1abc=.post-install`;
    const tar = Buffer.concat([header('././@LongLink', long.length + 1, 'L'), pad(Buffer.from(`${long}\0`)), header(long, 3), pad(Buffer.from('hi\n')), header('a.trigger', 2), pad(Buffer.from('t\n')), Buffer.alloc(1024)]);
    assert.deepEqual(readTar(tar).map((e) => [e.name, e.body.toString()]), [[long, 'hi\n'], ['a.trigger', 't\n']]);
  });
});
