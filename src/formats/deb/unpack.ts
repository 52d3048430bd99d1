/**
 * Unpacking one .deb natively, as dpkg's unpack phase would: the data into
 * the root (conffiles as NAME.dpkg-new, for dpkg --configure to put in place),
 * the control members into /var/lib/dpkg/info, the file list beside them.
 */
import { readFile } from 'node:fs/promises';
import { decompressMember, readDeb, readTar, type Extractor } from '../../archive/index.ts';
import type { Tree } from '../../tree/index.ts';
import { parseStanzas, type Stanza } from './control.ts';

export interface UnpackedDeb {
  /** The package's own control stanza (DEBIAN/control). */
  control: Stanza;
  conffiles: string[];
  /** dpkg's name for the package's info files: NAME, or NAME:ARCH for Multi-Arch: same. */
  infoName: string;
  /** The preinst script's text, when there is one. */
  preinst?: string;
}

const EXECUTABLE_CONTROL = new Set(['preinst', 'postinst', 'prerm', 'postrm', 'config']);

export async function unpackDeb(tree: Tree, blob: string, label: string, extractor: Extractor): Promise<UnpackedDeb> {
  const parts = readDeb(await readFile(blob), label);
  const members = new Map<string, Buffer>();
  for await (const { entry, body } of readTar(await decompressMember(parts.control.data, parts.control.kind))) {
    if (entry.type === 'file' && entry.path !== '.') members.set(entry.path.replace(/^.*\//, ''), await body.buffer());
  }
  const controlText = members.get('control')?.toString('utf8');
  const control = controlText ? parseStanzas(controlText)[0] : undefined;
  if (!control) throw new Error(`${label}: the package has no control file`);
  const name = control.get('Package') ?? label;
  const arch = control.get('Architecture') ?? 'all';
  const infoName = control.get('Multi-Arch') === 'same' ? `${name}:${arch}` : name;
  const conffiles = (members.get('conffiles')?.toString('utf8') ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('/'))
    .map((l) => l.replace(/^remove-on-upgrade\s+/, ''));
  const conffileSet = new Set(conffiles);

  const list: string[] = [];
  for await (const { entry, body } of readTar(await decompressMember(parts.data.data, parts.data.kind))) {
    const path = entry.path === '.' ? '/.' : `/${entry.path}`;
    list.push(path);
    const target = entry.type === 'file' && conffileSet.has(path) ? { ...entry, path: `${entry.path}.dpkg-new` } : entry;
    await extractor.apply(target, body);
  }

  const info = 'var/lib/dpkg/info';
  tree.write(`${info}/${infoName}.list`, list.join('\n') + '\n');
  for (const [member, data] of members) {
    if (member === 'control') continue;
    tree.write(`${info}/${infoName}.${member}`, data, { mode: EXECUTABLE_CONTROL.has(member) ? 0o755 : 0o644 });
  }
  return { control, conffiles, infoName, preinst: members.get('preinst')?.toString('utf8') };
}
