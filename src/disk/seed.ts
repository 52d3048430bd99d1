/**
 * Identifiers derived from the image's seed: the same seed and purpose give
 * the same UUID on every machine, different purposes give unrelated ones.
 * HMAC-SHA256 keyed by the seed, shaped as an RFC 9562 version 4 UUID so
 * that tools treat it as a random one.
 */
import { createHmac } from 'node:crypto';

function digest(seed: string, purpose: string): Buffer {
  return createHmac('sha256', seed).update(purpose).digest();
}

/** A UUID (lower-case 8-4-4-4-12) for `purpose` ("disk", "partition 2", "filesystem 2", ...). */
export function seededUuid(seed: string, purpose: string): string {
  const b = digest(seed, purpose).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A non-zero 32-bit number for `purpose` (an MBR disk signature, a FAT volume id). */
export function seededId32(seed: string, purpose: string): number {
  const n = digest(seed, purpose).readUInt32LE(0);
  return n === 0 ? 1 : n;
}

/** The GPT disk GUID. */
export const diskGuid = (seed: string): string => seededUuid(seed, 'disk');
/** Partition `number`'s GPT GUID (1-based, in the table's order). */
export const partitionGuid = (seed: string, number: number): string => seededUuid(seed, `partition ${number}`);
/** The MBR disk signature (PARTUUIDs on MBR are SIGNATURE-NN). */
export const mbrSignature = (seed: string): number => seededId32(seed, 'mbr');
/** The UUID of partition `number`'s filesystem; number 0: the single-filesystem outputs' (the whole tree). */
export const filesystemUuid = (seed: string, number: number): string => seededUuid(seed, number === 0 ? 'filesystem' : `filesystem ${number}`);
