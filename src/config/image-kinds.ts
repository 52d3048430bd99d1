/**
 * Value kinds for the image side: sizes that may be "auto", headroom as a
 * share or a size, partition types as names, GUIDs or MBR type bytes.
 */
import { PARTITION_TYPE_NAMES } from '../disk/types.ts';
import { sizeInBytes, stringMap, type Kind } from './kinds.ts';

/** "auto", or a size such as 256M. */
export const sizeOrAuto = (): Kind<'auto' | number> => ({
  describe: '"auto" or a size such as 256M or 4G',
  parse: (v) => {
    if (v === 'auto') return { value: 'auto' };
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { value: v };
    const bytes = typeof v === 'string' ? sizeInBytes(v) : undefined;
    return bytes === undefined || bytes === 0 ? { error: `expected "auto" or a size such as 256M or 4G, got ${JSON.stringify(v)}` } : { value: bytes };
  },
});

/** A share of the content ("20%", kept as text) or a size in bytes. */
export const headroom = (): Kind<`${number}%` | number> => ({
  describe: 'a share such as "20%" or a size such as 64M',
  parse: (v) => {
    if (typeof v === 'string' && /^\s*\d+(?:\.\d+)?\s*%\s*$/.test(v)) return { value: `${Number(v.trim().slice(0, -1))}%` as `${number}%` };
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return { value: v };
    const bytes = typeof v === 'string' ? sizeInBytes(v) : undefined;
    return bytes === undefined ? { error: `expected a share such as "20%" or a size such as 64M, got ${JSON.stringify(v)}` } : { value: bytes };
  },
});

/** Bytes of headroom for content that needs `needed` bytes. */
export function headroomBytes(value: `${number}%` | number, needed: number): number {
  return typeof value === 'number' ? value : Math.ceil((needed * Number(value.slice(0, -1))) / 100);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A partition type: one of PARTITION_TYPE_NAMES, a GPT type GUID, or an MBR type byte written 0x0c. */
export const partitionType = (): Kind<string> => ({
  describe: `a partition type (${PARTITION_TYPE_NAMES.join(', ')}), a GPT type GUID or an MBR type byte such as 0x0c`,
  parse: (v) => {
    if (typeof v === 'string' && ((PARTITION_TYPE_NAMES as readonly string[]).includes(v) || GUID.test(v) || /^0x[0-9a-f]{2}$/i.test(v))) return { value: v.toLowerCase() };
    return { error: `expected a partition type (${PARTITION_TYPE_NAMES.join(', ')}), a GPT type GUID or an MBR type byte such as 0x0c, got ${JSON.stringify(v)}` };
  },
});

/** A UUID written 8-4-4-4-12 in hex. */
export const uuid = (describe = 'a UUID such as 0fc63daf-8483-4772-8e79-3d69d8477de4'): Kind<string> => ({
  describe,
  parse: (v) => (typeof v === 'string' && GUID.test(v) ? { value: v.toLowerCase() } : { error: `expected ${describe}, got ${JSON.stringify(v)}` }),
});

/** An absolute path in the image ("/", "/efi", "/boot"). */
export const imagePath = (describe = 'an absolute path in the image such as /efi'): Kind<string> => ({
  describe,
  parse: (v) => {
    if (typeof v !== 'string' || !v.startsWith('/') || v.split('/').some((c) => c === '..' || c === '.') || v.includes('\0')) return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    return { value: v.length > 1 ? v.replace(/\/+$/, '').replace(/\/{2,}/g, '/') : v };
  },
});

/** One component of an OCI reference name (image-spec's org.opencontainers.image.ref.name grammar). */
const REF_COMPONENT = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*$/;

/** An image's name in an OCI layout (oci.tag): "latest", "1.0", "bookworm-arm64". */
export const ociRefName = (): Kind<string> => ({
  describe: 'a tag such as latest or 1.0',
  parse: (v) =>
    typeof v === 'string' && v.split('/').every((c) => REF_COMPONENT.test(c))
      ? { value: v }
      : { error: `expected a tag such as latest or 1.0 (letters and digits, with one of . _ - : @ + between them), got ${JSON.stringify(v)}` },
});

/** An environment for a container (oci.env): NAME = "value", a name without "=". */
export const environment = (): Kind<Record<string, string>> => {
  const map = stringMap('a table of NAME = "value"');
  return {
    ...map,
    parse: (v, text) => {
      const parsed = map.parse(v, text);
      if ('error' in parsed) return parsed;
      const bad = Object.keys(parsed.value).find((name) => name === '' || name.includes('='));
      return bad === undefined ? parsed : { error: `${JSON.stringify(bad)} is not an environment variable name (empty, or with "=")`, at: [bad] };
    },
  };
};
