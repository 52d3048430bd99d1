/**
 * apk's database in the root, as apk 2.x writes it after `apk add`:
 * /lib/apk/db/installed (per package the index fields C P V A S I T U L,
 * then o m t c k where set, D p i where not empty, r q for replaces, s the
 * tag of the repository it came from when that one is tagged; then
 * per directory `F:` with `M:` when it is not root:root 0755, per file `R:`
 * with `a:` when it is not root:root 0644, and `Z:` its checksum; an empty
 * line ends the package), /lib/apk/db/scripts.tar (a tar of the scripts,
 * `NAME-VERSION.Q1CHECKSUM.TYPE`), /lib/apk/db/triggers (`Q1CHECKSUM glob
 * ...` per package with a trigger), /etc/apk/world, /etc/apk/repositories,
 * /etc/apk/arch, /etc/apk/keys and the lock file.
 */
import type { Tree } from '../../tree/index.ts';
import { SCRIPT_NAMES } from './package.ts';
import type { ApkPackage } from './types.ts';
import type { ApkAcl, UnpackedApk } from './unpack.ts';

export const INSTALLED = 'lib/apk/db/installed';
export const SCRIPTS_TAR = 'lib/apk/db/scripts.tar';
export const TRIGGERS = 'lib/apk/db/triggers';

/** The directories apk's --initdb makes before the first package. */
export const APK_SKELETON: [string, number][] = [
  ['tmp', 0o1777], ['dev', 0o755], ['etc', 0o755], ['etc/apk', 0o755], ['lib', 0o755], ['lib/apk', 0o755], ['lib/apk/db', 0o755],
  ['var', 0o755], ['var/cache', 0o755], ['var/cache/apk', 0o755], ['var/cache/misc', 0o755],
];

function aclLine(field: 'M' | 'a', acl: ApkAcl): string {
  return `${field}:${acl.uid}:${acl.gid}:${acl.mode.toString(8)}${acl.xattrs ? `:${acl.xattrs}` : ''}\n`;
}

const isDefault = (acl: ApkAcl, mode: number) => acl.uid === 0 && acl.gid === 0 && acl.mode === mode && !acl.xattrs;

/** One package's entry: `record` is what the index says, `unpacked` what its files are; `owns(path)` says whether it still owns a file. */
export function installedEntry(record: ApkPackage, unpacked: UnpackedApk, owns: (path: string) => boolean, tag?: string): string {
  const lines = [`C:${record.checksum}`, `P:${record.name}`, `V:${record.version}`, `A:${record.arch}`, `S:${record.size}`, `I:${record.installedSize}`, `T:${record.description}`, `U:${record.url}`, `L:${record.license}`];
  if (record.origin) lines.push(`o:${record.origin}`);
  if (record.maintainer) lines.push(`m:${record.maintainer}`);
  if (record.buildTime) lines.push(`t:${record.buildTime}`);
  if (record.commit) lines.push(`c:${record.commit}`);
  if (record.providerPriority) lines.push(`k:${record.providerPriority}`);
  if (record.depends.length) lines.push(`D:${record.depends.join(' ')}`);
  if (record.provides.length) lines.push(`p:${record.provides.join(' ')}`);
  if (record.installIf.length) lines.push(`i:${record.installIf.join(' ')}`);
  const replaces = (unpacked.pkginfo.get('replaces') ?? []).flatMap((r) => r.split(' ')).filter(Boolean);
  if (replaces.length) lines.push(`r:${replaces.join(' ')}`);
  const priority = Number(unpacked.pkginfo.get('replaces_priority')?.[0] ?? 0);
  if (priority) lines.push(`q:${priority}`);
  if (tag !== undefined) lines.push(`s:${tag}`);
  let text = lines.join('\n') + '\n';
  for (const dir of unpacked.dirs) {
    text += `F:${dir.path}\n`;
    if (!isDefault(dir.acl, 0o755)) text += aclLine('M', dir.acl);
    for (const f of dir.files) {
      if (!owns(dir.path ? `${dir.path}/${f.name}` : f.name)) continue;
      text += `R:${f.name}\n`;
      if (!isDefault(f.acl, 0o644)) text += aclLine('a', f.acl);
      if (f.checksum) text += `Z:${f.checksum}\n`;
    }
  }
  return text + '\n';
}

/** A ustar header as apk writes its script entries: GNU magic, root:root, mode 0755. */
function tarHeader(name: string, size: number, mtime: number, type: '0' | 'L'): Buffer {
  const h = Buffer.alloc(512);
  const octal = (at: number, length: number, value: number) => h.write(value.toString(8).padStart(length - 1, '0') + '\0', at, length, 'latin1');
  h.write(name, 0, 100, 'utf8');
  octal(100, 8, 0o755);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, mtime);
  h.write(type, 156, 1, 'latin1');
  h.write('ustar  \0', 257, 8, 'latin1');
  h.write('root', 265, 32, 'latin1');
  h.write('root', 297, 32, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0', 148, 7, 'latin1');
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** scripts.tar: every package's scripts in install order, apk's script order within a package, then the end blocks. */
export function scriptsTar(unpacked: readonly UnpackedApk[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const u of unpacked) {
    for (const type of SCRIPT_NAMES) {
      const script = u.scripts[type];
      if (!script) continue;
      const name = `${u.name}-${u.version}.${u.checksum}.${type}`;
      if (Buffer.byteLength(name) > 99) {
        const long = Buffer.from(`${name}\0`);
        parts.push(tarHeader('././@LongLink', long.length, mtime, 'L'), long, pad(long.length));
      }
      parts.push(tarHeader(name, script.length, mtime, '0'), script, pad(script.length));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** The triggers file: a package with a trigger script and its globs. */
export function triggersFile(unpacked: readonly UnpackedApk[]): string {
  return unpacked
    .filter((u) => u.scripts.trigger)
    .map((u) => [u.checksum, ...(u.pkginfo.get('triggers') ?? []).flatMap((t) => t.split(' ')).filter(Boolean)].join(' ') + '\n')
    .join('');
}

export interface ApkStateFiles {
  world: string[];
  repositories: string[];
  architecture: string;
  keys: { name: string; pem: string }[];
}

/** /etc/apk/{world,repositories,arch,keys/} and the lock, as apk leaves them. */
export function writeApkState(tree: Tree, state: ApkStateFiles): void {
  const names = [...new Set(state.world)].sort();
  tree.mkdir('etc/apk', { mode: 0o755 });
  tree.mkdir('lib/apk/db', { mode: 0o755 });
  tree.write('etc/apk/world', names.map((n) => `${n}\n`).join(''), { mode: 0o644 });
  tree.write('etc/apk/repositories', state.repositories.map((r) => `${r}\n`).join(''), { mode: 0o644 });
  tree.write('etc/apk/arch', `${state.architecture}\n`, { mode: 0o644 });
  tree.mkdir('etc/apk/keys', { mode: 0o755 });
  for (const k of state.keys) if (!tree.exists(`etc/apk/keys/${k.name}`)) tree.write(`etc/apk/keys/${k.name}`, k.pem, { mode: 0o644 });
  if (!tree.exists('lib/apk/db/lock')) tree.write('lib/apk/db/lock', '', { mode: 0o600 });
}
