/** The throw-away tree and twin store the native-twin unit tests build (Debian's and pacman's): a file writer and an ELF header. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Enough of an ELF file for the twin table (its magic). */
export const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]);

/** A fresh directory with root/ and store/, and `put`, which writes a file (its directories made). */
export function twinFixtureDirs(prefix: string): { root: string; store: string; put: (path: string, data: Buffer | string, mode?: number) => void } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const put = (path: string, data: Buffer | string, mode = 0o755) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data, { mode });
  };
  return { root: join(base, 'root'), store: join(base, 'store'), put };
}
