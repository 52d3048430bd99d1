/**
 * Where a sparse file's data is, so that copying a partition image into the
 * disk reads only its data and not its holes: reading a hole still costs
 * the kernel a zeroed page cache page per 4 KiB (a second or more per GiB of
 * holes on a busy machine). Node has no SEEK_DATA, so the extents come from
 * `qemu-img map` (qemu-utils, which the qcow2 output needs anyway); the
 * caller that passes this in declares the tool. Any failure gives
 * undefined: the whole file is read, as without it.
 */
import { execFile } from 'node:child_process';

/** A byte range of a file that holds data (anything outside every extent reads as zeros). */
export interface Extent {
  start: number;
  length: number;
}

/** Finds a file's data extents, or undefined when it cannot tell. */
export type ExtentFinder = (file: string) => Promise<readonly Extent[] | undefined>;

interface MapEntry {
  start: number;
  length: number;
  data: boolean;
  zero?: boolean;
}

/** The data extents in `qemu-img map --output=json -f raw` output, merged where they touch. */
export function parseQemuImgMap(json: string): Extent[] {
  const entries = JSON.parse(json) as MapEntry[];
  const extents: Extent[] = [];
  for (const e of entries) {
    if (!e.data || e.zero) continue;
    const last = extents[extents.length - 1];
    if (last && last.start + last.length === e.start) last.length += e.length;
    else extents.push({ start: e.start, length: e.length });
  }
  return extents;
}

/** An ExtentFinder that runs `qemuImg` (its path) map on the file. */
export function qemuImgExtents(qemuImg: string): ExtentFinder {
  return (file) =>
    new Promise((resolve) => {
      execFile(qemuImg, ['map', '--output=json', '-f', 'raw', file], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
        if (error) return resolve(undefined);
        try {
          resolve(parseQemuImgMap(stdout));
        } catch {
          resolve(undefined);
        }
      });
    });
}
