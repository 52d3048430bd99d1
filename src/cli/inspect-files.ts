/**
 * The largest files of an output, for `kiln inspect`: read from a directory
 * output (entries you cannot read, such as a rootless build's 0700
 * directories of other ids, are counted and left out) or streamed from a
 * tar output (plain or compressed, never unpacked). A hard link counts once.
 */
import { createReadStream, lstatSync, readdirSync, statSync } from 'node:fs';
import { compressionFromName, decompress, readTar } from '../archive/index.ts';

export interface LargeFile {
  path: string;
  size: number;
}

/** Keeps the `top` largest of what it is given, largest first. */
function keepLargest(top: number): { add(f: LargeFile): void; result(): LargeFile[] } {
  const best: LargeFile[] = [];
  return {
    add(f) {
      if (best.length === top && f.size <= (best.at(-1) as LargeFile).size) return;
      best.push(f);
      best.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : 1));
      if (best.length > top) best.pop();
    },
    result: () => best,
  };
}

export async function largestFiles(output: string, top: number): Promise<{ files: LargeFile[]; unreadable: number } | undefined> {
  const st = statSync(output, { throwIfNoEntry: false });
  if (!st) return undefined;
  const largest = keepLargest(top);
  let unreadable = 0;
  if (st.isDirectory()) {
    const inodes = new Set<number>();
    const visit = (abs: string, rel: string) => {
      let names: string[];
      try {
        names = readdirSync(abs);
      } catch {
        unreadable++;
        return;
      }
      for (const name of names) {
        const e = lstatSync(`${abs}/${name}`);
        if (e.isDirectory()) visit(`${abs}/${name}`, `${rel}/${name}`);
        else if (e.isFile() && !inodes.has(e.ino)) {
          inodes.add(e.ino);
          largest.add({ path: `${rel}/${name}`, size: e.size });
        }
      }
    };
    visit(output, '');
    return { files: largest.result(), unreadable };
  }
  if (!/\.tar(\.(gz|xz|zst))?$/.test(output)) return undefined;
  const kind = compressionFromName(output);
  const source = kind === 'none' ? createReadStream(output) : decompress(createReadStream(output), kind);
  for await (const { entry } of readTar(source)) {
    if (entry.type === 'file') largest.add({ path: `/${entry.path.replace(/^\.?\//, '')}`, size: entry.size });
  }
  return { files: largest.result(), unreadable };
}
