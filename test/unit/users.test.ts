import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyUsers } from '../../src/pipeline/users.ts';
import { UserError } from '../../src/util/errors.ts';

function etc(): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-users-'));
  mkdirSync(join(root, 'etc/skel'), { recursive: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'bin/bash'), '');
  writeFileSync(join(root, 'etc/skel/.profile'), '# profile\n');
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:999:999::/:/usr/sbin/nologin\nold:x:1000:1000::/home/old:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nsudo:x:27:\nsystemd-network:x:999:\nold:x:1000:\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nold:!:19000:0:99999:7:::\n');
  writeFileSync(join(root, 'etc/gshadow'), 'root:*::\nsudo:*::\nold:!::\n');
  return root;
}

const noChpasswd = async () => assert.fail('no plain password was given');
const read = (root: string, f: string) => readFileSync(join(root, 'etc', f), 'utf8');

test('ids are allocated as useradd does; a user gets its own group; memberships land in group and gshadow', async () => {
  const root = etc();
  await applyUsers(
    { root, sourceDateEpoch: 1_700_000_000, chpasswd: noChpasswd },
    [{ name: 'alice', groups: ['sudo', 'video'] }, { name: 'daemon2', system: true }, { name: 'old', shell: '/bin/bash', locked: true }],
    [{ name: 'video', system: true, members: ['old'] }],
  );
  assert.match(read(root, 'passwd'), /^alice:x:1001:1001::\/home\/alice:\/bin\/bash$/m);
  assert.match(read(root, 'passwd'), /^daemon2:x:998:997::\/nonexistent:\/bin\/false$/m);
  assert.match(read(root, 'passwd'), /^old:x:1000:1000::\/home\/old:\/bin\/bash$/m, 'an existing user is updated, not added again');
  assert.match(read(root, 'group'), /^sudo:x:27:alice$/m);
  assert.match(read(root, 'group'), /^video:x:998:alice,old$/m);
  assert.match(read(root, 'gshadow'), /^video:!::alice,old$/m);
  assert.match(read(root, 'shadow'), /^alice:!:19675:0:99999:7:::$/m, 'locked, last change from SOURCE_DATE_EPOCH');
  assert.match(read(root, 'shadow'), /^old:!:19000:/m);
  assert.equal(readFileSync(join(root, 'home/alice/.profile'), 'utf8'), '# profile\n');
});

test('a plain password goes through chpasswd; conflicts are user errors', async () => {
  const root = etc();
  let input = '';
  await applyUsers({ root, sourceDateEpoch: 1, chpasswd: async (i) => void (input = i) }, [{ name: 'bob', password: 'pw' }], []);
  assert.equal(input, 'bob:pw\n');
  const fails = async (users: Parameters<typeof applyUsers>[1], groups: Parameters<typeof applyUsers>[2], re: RegExp) =>
    assert.rejects(applyUsers({ root: etc(), sourceDateEpoch: 1, chpasswd: noChpasswd }, users, groups), (e: unknown) => e instanceof UserError && re.test(e.message));
  await fails([{ name: 'x', uid: 1000 }], [], /uid 1000 belongs to old/);
  await fails([{ name: 'old', uid: 5 }], [], /already has it with uid 1000/);
  await fails([{ name: 'x', groups: ['nosuch'] }], [], /no group "nosuch"/);
  await fails([], [{ name: 'g', gid: 27 }], /gid 27 belongs to sudo/);
  await fails([{ name: 'x', password: 'a', 'password-hash': '$6$b' }], [], /one of password-hash, password, locked/);
  await fails([{ name: 'bad name' }], [], /"bad name" is not a user or group name/);
});
