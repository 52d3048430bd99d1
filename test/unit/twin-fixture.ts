/** The throw-away tree and twin store the native-twin unit tests build (Debian's and pacman's): a file writer and an ELF header. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** An ELF64 header and one program header, PT_INTERP (a dynamically linked program) or PT_LOAD (a static one). */
function elfHeader(programType: number): Buffer {
  const h = Buffer.alloc(64 + 56);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  h.writeBigUInt64LE(64n, 32); // e_phoff
  h.writeUInt16LE(56, 54); // e_phentsize
  h.writeUInt16LE(1, 56); // e_phnum
  h.writeUInt32LE(programType, 64);
  return h;
}

/** Enough of a dynamically linked ELF program for the twin table (its magic, its PT_INTERP). */
export const ELF = elfHeader(3);
/** Enough of a static ELF program (no PT_INTERP): the dispatcher runs it without the loader. */
export const STATIC_ELF = elfHeader(1);

/** A fresh directory with root/ and store/, and `put`, which writes a file (its directories made). */
export function twinFixtureDirs(prefix: string): { root: string; store: string; put: (path: string, data: Buffer | string, mode?: number) => void } {
  const base = mkdtempSync(join(tmpdir(), prefix));
  const put = (path: string, data: Buffer | string, mode = 0o755) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data, { mode });
  };
  return { root: join(base, 'root'), store: join(base, 'store'), put };
}
