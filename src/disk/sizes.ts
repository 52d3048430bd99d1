/** Byte arithmetic and sizes in words for the layout's messages and lines. */

export const MiB = 1024 * 1024;

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export function alignDown(n: number, alignment: number): number {
  return Math.floor(n / alignment) * alignment;
}

const UNITS: readonly [number, string][] = [
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [MiB, 'MiB'],
  [1024, 'KiB'],
];

/** "412 MiB", "1.5 GiB", "8 KiB", "440 bytes": one decimal where needed, rounded up (a need is never understated). */
export function formatSize(bytes: number): string {
  for (const [unit, name] of UNITS) {
    if (bytes >= unit) {
      const tenths = Math.ceil((bytes * 10) / unit);
      return `${tenths % 10 === 0 ? tenths / 10 : (tenths / 10).toFixed(1)} ${name}`;
    }
  }
  return `${bytes} bytes`;
}
