/** The input types `kiln diff` reads, tried in order; an input none recognises is a user mistake. */
import { statSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { directoryReader } from './read-directory.ts';
import { cpioReader } from './read-cpio.ts';
import { erofsReader } from './read-erofs.ts';
import { ext4Reader } from './read-ext4.ts';
import { diskReader } from './read-disk.ts';
import { ociReader } from './read-oci.ts';
import { squashfsReader } from './read-squashfs.ts';
import { readHead, tarReader } from './read-tar.ts';
import { vfatReader } from './read-vfat.ts';
import type { InputReader, ListedInput } from './types.ts';

/** Most specific first: an OCI layout is also a directory; a compressed file is a tar unless it holds a cpio archive. */
export const INPUT_READERS: readonly InputReader[] = [ociReader, directoryReader, cpioReader, ext4Reader, erofsReader, squashfsReader, vfatReader, diskReader, tarReader];

/** The reader for `path`; a missing path or one of no known type is a UserError. */
export async function readerFor(path: string): Promise<InputReader> {
  let isDirectory: boolean;
  try {
    const st = statSync(path);
    isDirectory = st.isDirectory();
    if (!isDirectory && !st.isFile()) throw new UserError(`${path} is neither a file nor a directory`, 'give two directories, tars, cpio archives or OCI layouts');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: no such file or directory`, 'give two outputs kiln wrote (a directory, a tar, an OCI layout) or two trees', { cause: err });
  }
  const head = isDirectory ? Buffer.alloc(0) : await readHead(path);
  let reader: InputReader | undefined;
  for (const r of INPUT_READERS) {
    if (await r.recognises(path, head, isDirectory)) {
      reader = r;
      break;
    }
  }
  if (!reader) throw new UserError(`${path}: not an input kiln diff can read`, `kiln diff reads: ${INPUT_READERS.map((r) => r.name).join(', ')} (tar and cpio plain, .gz, .xz or .zst)`);
  return reader;
}

/** Lists `path` with its reader. */
export async function listInput(path: string): Promise<ListedInput> {
  return (await readerFor(path)).list(path);
}
