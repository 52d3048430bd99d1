/**
 * The Unix `ar` container (System V / GNU variant) as used by Debian `.deb`
 * files: an 8-byte global header, then members with 60-byte headers, data
 * padded to an even offset. GNU long names live in a `//` member and are
 * referenced as `/OFFSET`; BSD `#1/LEN` names are accepted too.
 */
import { ArchiveError } from './errors.ts';
import { compressionFromName, type Compression } from './decompress.ts';

export interface ArMember {
  name: string;
  /** A view into the input buffer (no copy). */
  data: Buffer;
}

const MAGIC = '!<arch>\n';
const HEADER = 60;

function field(buf: Buffer, start: number, len: number): string {
  return buf.toString('latin1', start, start + len).trimEnd();
}

function decimal(text: string, what: string, offset: number): number {
  if (!/^\d+$/.test(text)) throw new ArchiveError(`corrupt ar archive: bad ${what} ${JSON.stringify(text)} in the member header at byte ${offset}`);
  return Number(text);
}

/** Lists the members of an ar archive. Throws ArchiveError on anything malformed or truncated. */
export function readAr(buf: Buffer): ArMember[] {
  if (buf.length < MAGIC.length || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new ArchiveError('not an ar archive (no "!<arch>" header)');
  }
  const members: ArMember[] = [];
  let longNames: Buffer | undefined;
  let pos = MAGIC.length;
  while (pos < buf.length) {
    // A lone trailing newline (padding of the last member) is tolerated.
    if (buf.length - pos === 1 && buf[pos] === 0x0a) break;
    if (pos + HEADER > buf.length) throw new ArchiveError(`truncated ar archive: member header at byte ${pos} is cut short`);
    if (buf[pos + 58] !== 0x60 || buf[pos + 59] !== 0x0a) {
      throw new ArchiveError(`corrupt ar archive: bad member header at byte ${pos}`);
    }
    let name = field(buf, pos, 16);
    const size = decimal(field(buf, pos + 48, 10), 'size', pos);
    let start = pos + HEADER;
    let end = start + size;
    if (end > buf.length) throw new ArchiveError(`truncated ar archive: member ${JSON.stringify(name)} needs ${size} bytes, ${buf.length - start} left`);
    if (name.startsWith('#1/')) {
      // BSD: the name is stored in front of the data.
      const len = decimal(name.slice(3), 'name length', pos);
      if (len > size) throw new ArchiveError(`corrupt ar archive: name longer than member at byte ${pos}`);
      name = buf.toString('utf8', start, start + len).replace(/\0+$/, '');
      start += len;
    } else if (name === '//') {
      longNames = buf.subarray(start, end);
      name = '';
    } else if (name === '/' || name === '/SYM64/') {
      name = ''; // symbol table
    } else if (/^\/\d+$/.test(name)) {
      const off = Number(name.slice(1));
      if (!longNames || off >= longNames.length) throw new ArchiveError(`corrupt ar archive: long name ${name} without a name table`);
      let stop = longNames.indexOf('/\n', off, 'latin1');
      if (stop < 0) stop = longNames.length;
      name = longNames.toString('utf8', off, stop);
    } else if (name.endsWith('/')) {
      name = name.slice(0, -1);
    }
    if (name !== '') members.push({ name, data: buf.subarray(start, end) });
    pos = end + (end & 1);
  }
  return members;
}

export interface DebPart {
  /** The member name, e.g. `data.tar.xz`. */
  name: string;
  kind: Compression;
  data: Buffer;
}

export interface DebParts {
  control: DebPart;
  data: DebPart;
}

const TAR_MEMBER = /^(control|data)\.tar(\.[a-z0-9]+)?$/;

/** Splits a `.deb` into its control and data tarballs (still compressed). */
export function readDeb(buf: Buffer, label = 'package'): DebParts {
  let members: ArMember[];
  try {
    members = readAr(buf);
  } catch (err) {
    throw new ArchiveError(`${label} is not a Debian package: ${(err as Error).message}`, undefined, { cause: err });
  }
  const first = members[0];
  if (!first || first.name !== 'debian-binary') {
    throw new ArchiveError(`${label} is not a Debian package: its first member is not "debian-binary"`);
  }
  const version = first.data.toString('latin1').trim();
  if (!/^2\.\d+$/.test(version)) throw new ArchiveError(`${label}: unsupported Debian package format version ${JSON.stringify(version)}`);
  const parts: Partial<DebParts> = {};
  for (const m of members.slice(1)) {
    const match = TAR_MEMBER.exec(m.name);
    if (!match) continue; // dpkg ignores extra members starting with "_"; so do we with any other
    const which = match[1] as 'control' | 'data';
    const ext = match[2] ?? '';
    const kind = compressionFromName(m.name);
    if (ext !== '' && kind === 'none') throw new ArchiveError(`${label}: unsupported compression of ${m.name}`);
    if (parts[which]) throw new ArchiveError(`${label}: more than one ${which}.tar member`);
    parts[which] = { name: m.name, kind, data: m.data };
  }
  if (!parts.control) throw new ArchiveError(`${label} is not a Debian package: no control.tar member`);
  if (!parts.data) throw new ArchiveError(`${label} is not a Debian package: no data.tar member`);
  return { control: parts.control, data: parts.data };
}
