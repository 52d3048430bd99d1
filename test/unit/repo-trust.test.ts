/**
 * Signature verdicts are kept by trust anchor: the same signature over the
 * same bytes is checked once, until the anchors change; a bad signature is
 * never kept. Any verifier (OpenPGP today, RSA for apk) plugs in as TrustAnchors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkSignature, type TrustAnchors } from '../../src/repo/index.ts';
import { UserError } from '../../src/util/errors.ts';

function countingAnchors(id: string, good: string): TrustAnchors & { calls: number } {
  const anchors = {
    id,
    calls: 0,
    async verifyDetached(_data: Uint8Array, signature: Uint8Array, source: string) {
      anchors.calls++;
      if (Buffer.from(signature).toString() !== good) throw new UserError(`signature check failed for ${source}`);
    },
  };
  return anchors;
}

test('a good verdict is reused until the trust anchors change; a bad one is never kept', async (t) => {
  const memoDir = mkdtempSync(join(tmpdir(), 'kiln-trust-'));
  t.after(() => rmSync(memoDir, { recursive: true, force: true }));
  let reads = 0;
  const item = (signature: string) => ({ kind: 'test-signature', sha256: 'ab'.repeat(32), signature: Buffer.from(signature), read: async () => (reads++, Buffer.from('data')), source: 'package x' });

  const first = countingAnchors('keys-1', 'good');
  await checkSignature(memoDir, first, item('good'));
  await checkSignature(memoDir, first, item('good'));
  assert.equal(first.calls, 1, 'the second check reuses the verdict');
  assert.equal(reads, 1, 'and does not read the signed bytes');

  const changed = countingAnchors('keys-2', 'good');
  await checkSignature(memoDir, changed, item('good'));
  assert.equal(changed.calls, 1, 'new anchors judge the signature again');

  await assert.rejects(checkSignature(memoDir, first, item('bad')), /signature check failed for package x/);
  await assert.rejects(checkSignature(memoDir, first, item('bad')), /signature check failed/);
  assert.equal(first.calls, 3, 'a bad signature is checked (and refused) every time');
});
