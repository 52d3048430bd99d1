import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as openpgp from 'openpgp';
import { loadKeyring, verifyClearsigned, verifyDetached } from '../../src/repo/index.ts';
import { UserError } from '../../src/util/errors.ts';
import { testDir } from '../helpers/fixtures.ts';
import { skipOrFail } from '../helpers/host-tools.ts';

type KeyPair = { privateKey: openpgp.PrivateKey; publicKey: openpgp.PublicKey };
let alice: KeyPair;
let mallory: KeyPair;

async function makeKey(name: string, extra: { date?: Date; keyExpirationTime?: number } = {}): Promise<KeyPair> {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', userIDs: [{ name, email: `${name}@example.invalid` }], format: 'object', ...extra });
  return { privateKey, publicKey };
}

async function clearsign(text: string, signers: openpgp.PrivateKey[], date?: Date): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  return openpgp.sign({ message, signingKeys: signers, date });
}

async function detachedSign(data: Uint8Array, signer: openpgp.PrivateKey): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: signer, detached: true, format: 'binary' });
}

before(async () => {
  [alice, mallory] = await Promise.all([makeKey('alice'), makeKey('mallory')]);
});

const RELEASE = 'Origin: Test\nSuite: stable\nSHA256:\n abc 12 main/binary-amd64/Packages\n';

test('a clearsigned message from a known key verifies and yields the signed text', async () => {
  const signed = await clearsign(RELEASE, [alice.privateKey]);
  assert.equal(await verifyClearsigned(signed, [alice.publicKey]), RELEASE);
});

test('signatures by unknown keys are ignored when a good one exists', async () => {
  const signed = await clearsign(RELEASE, [mallory.privateKey, alice.privateKey]);
  assert.match(await verifyClearsigned(signed, [alice.publicKey]), /^Origin: Test/);
});

test('tampered text, an unknown key or no signature at all fail closed', async () => {
  const source = 'http://127.0.0.1:1/dists/stable/InRelease';
  const signed = await clearsign(RELEASE, [alice.privateKey]);
  await assert.rejects(verifyClearsigned(signed.replace('Suite: stable', 'Suite: stabLe'), [alice.publicKey], { source }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^signature check failed for http:\/\/127\.0\.0\.1:1\/dists\/stable\/InRelease: no valid signature from the configured keyring \([0-9A-F]{16}: .+\)$/);
    return true;
  });
  await assert.rejects(verifyClearsigned(signed, [mallory.publicKey]), /no valid signature from the configured keyring \([0-9A-F]{16}: key not in keyring\)/);
  await assert.rejects(verifyClearsigned(RELEASE, [alice.publicKey]), /not an OpenPGP clearsigned message/);
});

test('detached signatures, binary and armored, over binary data', async () => {
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
  const sig = await detachedSign(data, alice.privateKey);
  await verifyDetached(data, sig, [mallory.publicKey, alice.publicKey]);
  const armored = openpgp.armor(openpgp.enums.armor.signature, sig);
  await verifyDetached(data, Buffer.from(armored), [alice.publicKey]);
  const tampered = Buffer.from(data);
  tampered[1000] = (tampered[1000] ?? 0) ^ 1;
  await assert.rejects(verifyDetached(tampered, sig, [alice.publicKey], { source: 'core.db.sig' }), /^UserError: signature check failed for core\.db\.sig: no valid signature/);
  await assert.rejects(verifyDetached(data, sig, [mallory.publicKey]), /key not in keyring/);
  await assert.rejects(verifyDetached(data, Buffer.from('garbage'), [alice.publicKey]), /not an OpenPGP signature/);
});

test('a key that has expired since still verifies what it signed while valid', async () => {
  const created = new Date(Date.now() - 10 * 86_400_000);
  const old = await makeKey('old', { date: created, keyExpirationTime: 86_400 });
  const signed = await clearsign(RELEASE, [old.privateKey], new Date(created.getTime() + 3_600_000));
  assert.match(await verifyClearsigned(signed, [old.publicKey]), /^Origin: Test/);
});

test('loadKeyring reads concatenated binary keys and armored files with several blocks', async (t) => {
  const dir = await testDir(t);
  const binary = join(dir, 'ring.gpg');
  await writeFile(binary, Buffer.concat([alice.publicKey.write(), mallory.publicKey.write()]));
  const armored = join(dir, 'ring.asc');
  await writeFile(armored, `comment line\n${alice.publicKey.armor()}\n${mallory.publicKey.armor()}`);
  const fromBinary = await loadKeyring([binary]);
  assert.deepEqual(fromBinary.map((k) => k.getFingerprint()), [alice.publicKey.getFingerprint(), mallory.publicKey.getFingerprint()]);
  assert.equal((await loadKeyring([armored, binary])).length, 4);
  await assert.rejects(loadKeyring([join(dir, 'missing.gpg')]), /^UserError: cannot read keyring .*missing\.gpg: no such file$/);
  await writeFile(join(dir, 'junk.gpg'), 'not a key');
  await assert.rejects(loadKeyring([join(dir, 'junk.gpg')]), /cannot read keyring .*junk\.gpg: neither a binary keyring nor an armored/);
  await writeFile(join(dir, 'junk2.gpg'), Buffer.from([0x99, 0x00, 0x05, 1, 2, 3]));
  await assert.rejects(loadKeyring([join(dir, 'junk2.gpg')]), /cannot read keyring .*junk2\.gpg: /);
  await writeFile(join(dir, 'empty.gpg'), '');
  await assert.rejects(loadKeyring([join(dir, 'empty.gpg')]), /cannot read keyring .*empty\.gpg: /);
});

const HOST_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const REMOVED_KEYRING = '/usr/share/keyrings/debian-archive-removed-keys.gpg';
const LISTS = '/var/lib/apt/lists';
const hostInRelease = existsSync(LISTS) ? readdirSync(LISTS).find((n) => n.endsWith('_bookworm_InRelease')) : undefined;
const skipHost = skipOrFail(
  !existsSync(HOST_KEYRING)
    ? `${HOST_KEYRING} is not installed`
    : hostInRelease === undefined
      ? `no bookworm InRelease under ${LISTS} (run apt-get update on a bookworm host)`
      : undefined,
);

test('the host bookworm InRelease verifies against the Debian archive keyring', { skip: skipHost }, async (t) => {
  const text = await readFile(join(LISTS, hostInRelease as string), 'utf8');
  let started = performance.now();
  const keys = await loadKeyring([HOST_KEYRING]);
  const loadMs = performance.now() - started;
  started = performance.now();
  const signed = await verifyClearsigned(text, keys, { source: hostInRelease });
  const coldMs = performance.now() - started;
  started = performance.now();
  await verifyClearsigned(text, keys);
  const warmMs = performance.now() - started;
  t.diagnostic(`keyring: ${keys.length} keys in ${loadMs.toFixed(0)} ms; verify cold ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms; ${signed.length} chars`);
  assert.match(signed, /^Origin: Debian\n/);
  assert.match(signed, /\nCodename: bookworm\n/);
  await assert.rejects(verifyClearsigned(text.replace('Codename: bookworm', 'Codename: bookwurm'), keys), /no valid signature/);

  if (existsSync(REMOVED_KEYRING)) {
    // expired and removed keys load without complaint and do not get in the way
    started = performance.now();
    const all = await loadKeyring([REMOVED_KEYRING, HOST_KEYRING]);
    t.diagnostic(`with the removed-keys keyring: ${all.length} keys in ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(await verifyClearsigned(text, all), signed);
    await assert.rejects(verifyClearsigned(text, await loadKeyring([REMOVED_KEYRING])), /key not in keyring/);
  }
});
