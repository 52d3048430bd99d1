/**
 * Unpacking one .deb natively, as dpkg's unpack phase would: the data into
 * the root (conffiles as NAME.dpkg-new, for dpkg --configure to put in place),
 * the control members into /var/lib/dpkg/info, the file list beside them.
 * The package must be the one the signed index lists (Package, Version and
 * Architecture as planned); the info files are named from the plan.
 */
import { decompressMember, readDeb, readTar, type Extractor } from '../../archive/index.ts';
import type { Tree } from '../../tree/index.ts';
import { UserError } from '../../util/errors.ts';
import { checkPackageIdentity, checkPackageName } from '../package-identity.ts';
import type { PlannedPackage } from '../types.ts';
import type { DebPackageExtra } from './plan.ts';
import { parseStanzas, type Stanza } from './control.ts';

export interface UnpackedDeb {
  /** The package's own control stanza (DEBIAN/control). */
  control: Stanza;
  conffiles: string[];
  /** dpkg's name for the package's info files: NAME, or NAME:ARCH for Multi-Arch: same. */
  infoName: string;
  /** The preinst script's text, when there is one. */
  preinst?: string;
  /** Control members kiln does not know, left out of /var/lib/dpkg/info. */
  skipped: string[];
}

const EXECUTABLE_CONTROL = new Set(['preinst', 'postinst', 'prerm', 'postrm', 'config']);
/** The control members Debian policy and dpkg know (policy 3.2, deb-control(5) and its siblings). */
const CONTROL_MEMBERS = new Set(['control', 'md5sums', 'conffiles', 'templates', 'triggers', 'shlibs', 'symbols', 'clilibs', ...EXECUTABLE_CONTROL]);
/** Debian policy 5.6.1; architectures as dpkg-architecture names them. */
export const DEB_PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEB_ARCHITECTURE = /^[a-z0-9][a-z0-9-]*$/;

/**
 * `data` is the whole .deb (its sha256 already checked against the plan's);
 * `planned` is what the signed index says about it.
 */
export async function unpackDeb(tree: Tree, data: Buffer, planned: PlannedPackage<DebPackageExtra>, extractor: Extractor): Promise<UnpackedDeb> {
  const label = `${planned.name}_${planned.version}_${planned.architecture}`;
  const parts = readDeb(data, label);
  const members = new Map<string, Buffer>();
  const skipped: string[] = [];
  for await (const { entry, body } of readTar(await decompressMember(parts.control.data, parts.control.kind))) {
    if (entry.type === 'dir' && /^\.?\/?$/.test(entry.path)) continue;
    const member = controlMemberName(entry.path, label);
    if (entry.type !== 'file') continue;
    if (CONTROL_MEMBERS.has(member)) members.set(member, await body.buffer());
    else skipped.push(`${label}: control member ${JSON.stringify(member)} is not one dpkg knows; left out`);
  }
  const controlText = members.get('control')?.toString('utf8');
  const control = controlText ? parseStanzas(controlText)[0] : undefined;
  if (!control) throw new UserError(`${label}: the package has no control file`, 'the archive is broken');
  checkPackageIdentity(
    planned,
    { name: control.get('Package'), version: control.get('Version'), architecture: control.get('Architecture') },
    { name: 'Package', version: 'Version', architecture: 'Architecture' },
  );
  const name = checkPackageName(planned.name, DEB_PACKAGE_NAME, 'Debian package name');
  const arch = checkPackageName(planned.architecture, DEB_ARCHITECTURE, 'Debian architecture');
  const infoName = planned.extra.multiArch === 'same' ? `${name}:${arch}` : name;
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
  return { control, conffiles, infoName, preinst: members.get('preinst')?.toString('utf8'), skipped };
}

/** `./NAME` or `NAME`, one plain component: anything else (a directory, `..`) is refused. */
function controlMemberName(path: string, label: string): string {
  const name = path.replace(/^\.\//, '');
  if (!/^[a-z0-9][a-z0-9+._-]*$/.test(name) || name.includes('..')) {
    throw new UserError(`${label}: control member ${JSON.stringify(path.slice(0, 80))} is not a plain file name`, 'the archive is broken or has been tampered with');
  }
  return name;
}
