/** One member of a tar archive, as read by `readTar` and written by `TarWriter`. */
export interface TarEntry {
  /**
   * The member's path, without a leading `./` or a trailing `/` (the archive's
   * root directory is `.`). Readers keep `..` and a leading `/` so that the
   * extractor can refuse them.
   */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777), never the file type. */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch (may be fractional when a pax header said so). */
  mtime: number;
  /** Size of the data that follows; 0 for everything but regular files. */
  size: number;
  /** Symlink target (any string) or hard link target (an archive path). */
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes; values are raw bytes, never text. */
  xattrs: Map<string, Buffer>;
  /**
   * Vendor pax records the reader does not interpret (`APK-TOOLS.checksum.SHA1`),
   * by key, values as bytes; absent when there are none. Never written back.
   */
  records?: Map<string, Buffer>;
}

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
