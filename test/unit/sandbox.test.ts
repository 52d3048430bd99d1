import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseSubIds, mappingFromRanges, planIdMapping, escapesToHex, binfmtRegistration } from '../../src/sandbox/index.ts';
import { elfMagic, MACHINES } from '../../src/catalog/index.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

test('subordinate ranges are found by user name or uid', () => {
  const text = 'alice:100000:65536\n1001:300000:1000\nbob:200000:65536\n# comment\nbroken\n';
  assert.deepEqual(parseSubIds(text, 'alice', 1000), [{ start: 100000, count: 65536 }]);
  assert.deepEqual(parseSubIds(text, 'carol', 1001), [{ start: 300000, count: 1000 }]);
  assert.deepEqual(parseSubIds(text, 'dave', 1002), []);
});

test('the mapping puts the user at 0 and fills 1..65535 from one or more ranges', () => {
  assert.deepEqual(mappingFromRanges(1000, [{ start: 100000, count: 65536 }]), [
    [0, 1000, 1],
    [1, 100000, 65535],
  ]);
  assert.deepEqual(mappingFromRanges(1000, [{ start: 100000, count: 30000 }, { start: 500000, count: 40000 }]), [
    [0, 1000, 1],
    [1, 100000, 30000],
    [30001, 500000, 35535],
  ]);
  assert.equal(mappingFromRanges(1000, [{ start: 100000, count: 1000 }]), undefined, 'too few ids');
});

test('missing subordinate ids are explained with the exact lines to add', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-subid-'));
  writeFileSync(join(dir, 'subuid'), 'someoneelse:100000:65536\n');
  writeFileSync(join(dir, 'subgid'), '');
  const planned = planIdMapping({ subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') });
  assert.equal(planned.mapping, undefined);
  const user = userInfo().username;
  assert.ok(planned.missing?.includes(`"${user}:100000:65536" to ${join(dir, 'subuid')}`), planned.missing);
  assert.ok(planned.missing?.includes(`to ${join(dir, 'subgid')}`), planned.missing);
});

test('ELF magic and mask agree with the host QEMU package where it is installed', (t) => {
  let compared = 0;
  for (const machine of MACHINES) {
    const file = `/usr/lib/binfmt.d/qemu-${machine}.conf`;
    if (!existsSync(file)) continue;
    const fields = readFileSync(file, 'utf8').trim().split(':');
    const ours = elfMagic(machine);
    assert.equal(escapesToHex(ours.magic), escapesToHex(fields[4] ?? ''), `${machine} magic`);
    compared++;
  }
  if (compared === 0) t.skip('no qemu-user-static binfmt files on this host');
});

test('binfmt registrations use the fix-binary flag so the root needs no emulator', () => {
  const { magic, mask } = elfMagic('aarch64');
  const line = binfmtRegistration({ name: 'kiln-aarch64', magic, mask, interpreter: '/usr/bin/qemu-aarch64-static' });
  assert.equal(line, `:kiln-aarch64:M::${magic}:${mask}:/usr/bin/qemu-aarch64-static:FC`);
  assert.equal(escapesToHex(magic), '7f454c460201010000000000000000000200b700');
  assert.equal(escapesToHex(mask), 'ffffffffffffff00fffffffffffffffffeffffff');
});
