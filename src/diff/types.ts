/**
 * The one interface every input of `kiln diff` sits behind: a listing of
 * entries, each with its metadata and the sha256 of its content (never the
 * content itself), and a directory holding the image's package database.
 */
import type { TarEntryType } from '../archive/index.ts';

/** The kind of a path; a hard link in a tar is listed as the file it names. */
export type DiffEntryType = Exclude<TarEntryType, 'hardlink'>;

export interface DiffEntry {
  /** Relative to the image's root, without a leading `./`; the root itself is `.`. */
  path: string;
  type: DiffEntryType;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, whole. */
  mtime: number;
  /** Bytes of content (regular files; 0 otherwise). */
  size: number;
  /** sha256 of a regular file's content (hex). */
  sha256?: string;
  /** A symlink's target. */
  target?: string;
  /** Device numbers, `major,minor`. */
  device?: string;
  /** Extended attributes as `name=hex` lines, sorted; '' when none. */
  xattrs: string;
  /**
   * What this entry's input cannot tell (vfat stores no owner, mode or
   * xattrs, nor its root's time; unsquashfs 4.5 lists no xattrs): those fields hold 0 or '' and
   * are not compared, nor reported as values.
   */
  unread?: readonly Unread[];
}

/** The aspects an input may be unable to give for its entries. */
export type Unread = 'owner' | 'mode' | 'time' | 'xattrs';

/** Every entry of one input, by path. Metadata and digests only: small beside the trees. */
export type Listing = Map<string, DiffEntry>;

/** A listed input: its entries and the small part of it the package readers need. */
export interface ListedInput {
  listing: Listing;
  /** What the input is besides its files, in lines compared before them (a disk's partition table). */
  header?: string[];
  /** A directory laid out as the image's root holding at least its package database (the image itself for a directory). */
  databaseRoot: string;
  /** Reads the content of some regular files (for text diffs); the paths not found are left out. */
  readFiles(paths: ReadonlySet<string>, maxBytes: number): Promise<Map<string, Buffer>>;
  /** Removes what listing left behind (the copied package database). */
  dispose(): Promise<void>;
}

/** One input type: recognises its inputs and lists them. */
export interface InputReader {
  /** What `--help` and errors call it. */
  name: string;
  /** True when `path` (whose lstat is given) is an input of this type; may read its first bytes. */
  recognises(path: string, head: Buffer, isDirectory: boolean): boolean | Promise<boolean>;
  list(path: string): Promise<ListedInput>;
}
