/**
 * The native-twin integration tests' build (native-twins-arch,
 * native-twins-alpine): `kiln build --rebuild --debug` of a tar image with
 * a fixed SOURCE_DATE_EPOCH, its tar's sha256 and the manifest's script
 * ledger, and one member of that tar read back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { kiln } from './kiln.ts';

export const TWIN_EPOCH = '1700000000';

export interface TwinBuilt {
  code: number;
  stderr: string;
  /** The tar's sha256 ('' when the build failed). */
  sha: string;
  ledger: Record<string, string>;
}

/** Builds the image directory `at` (out/image.tar) again from the start. */
export async function twinBuild(at: string, args: string[] = []): Promise<TwinBuilt> {
  const r = await kiln(['build', '-C', at, '--rebuild', '--debug', ...args], { env: { SOURCE_DATE_EPOCH: TWIN_EPOCH } });
  if (r.code !== 0) return { ...r, sha: '', ledger: {} };
  const manifest = JSON.parse(readFileSync(join(at, 'out/image.manifest.json'), 'utf8')) as { 'script-ledger': Record<string, string> };
  return { ...r, sha: createHash('sha256').update(readFileSync(join(at, 'out/image.tar'))).digest('hex'), ledger: manifest['script-ledger'] };
}

/** A member of the image's tar, as text. */
export function tarMember(dir: string, path: string): string {
  const r = spawnSync('tar', ['-xOf', join(dir, 'out/image.tar'), `./${path}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
