/**
 * pacman's local database, /var/lib/pacman/local: one NAME-VERSION directory
 * per installed package with `desc`, `files`, `mtree` (and `install`,
 * `changelog`), written from the package's own .PKGINFO as pacman does. The
 * directory is named from the plan (the sync database), never from the
 * package; unpackPacman has checked that the two agree.
 */
import { Tree } from '../../tree/index.ts';
import { checkPackageName } from '../package-identity.ts';
import type { PlannedPackage } from '../types.ts';
import { formatDesc } from './db.ts';
import type { UnpackedPacman } from './unpack.ts';

/** libalpm's rule for package names: these characters, not starting with a hyphen or a dot. */
export const PACMAN_PACKAGE_NAME = /^[a-zA-Z0-9@_+][a-zA-Z0-9@._+-]*$/;
/** [epoch:]pkgver-pkgrel: no slash, so NAME-VERSION stays one path component. */
const PACMAN_VERSION = /^[a-zA-Z0-9._+:~-]+$/;

/** The local database format pacman 6 writes and expects. */
export const ALPM_DB_VERSION = 9;
export const LOCAL_DB = 'var/lib/pacman/local';

export interface LocalEntry {
  /** What the sync database says: the entry's name and version. */
  planned: Pick<PlannedPackage, 'name' | 'version'>;
  unpacked: UnpackedPacman;
  explicit: boolean;
  installDate: number;
  /** The package was checked against a signature (pacman records "pgp"), else only its sha256 ("sha256"). */
  validated: boolean;
}

export async function writeLocalDbHeader(root: string): Promise<void> {
  const tree = new Tree(root);
  tree.mkdir(LOCAL_DB);
  tree.write(`${LOCAL_DB}/ALPM_DB_VERSION`, `${ALPM_DB_VERSION}\n`);
}

export async function writeLocalEntry(root: string, entry: LocalEntry): Promise<string> {
  const tree = new Tree(root);
  const { unpacked } = entry;
  const info = (key: string) => unpacked.pkginfo.get(key) ?? [];
  const one = (key: string) => info(key).slice(0, 1);
  const name = checkPackageName(entry.planned.name, PACMAN_PACKAGE_NAME, 'pacman package name');
  const version = checkPackageName(entry.planned.version, PACMAN_VERSION, 'pacman package version');
  const dir = `${LOCAL_DB}/${name}-${version}`;
  tree.mkdir(dir);
  // pacman's field order; empty fields are left out.
  const desc: [string, string[]][] = [
    ['NAME', [name]],
    ['VERSION', [version]],
    ['BASE', one('pkgbase')],
    ['DESC', one('pkgdesc')],
    ['URL', one('url')],
    ['ARCH', one('arch')],
    ['BUILDDATE', one('builddate')],
    ['INSTALLDATE', [String(entry.installDate)]],
    ['PACKAGER', one('packager')],
    ['SIZE', one('size').filter((s) => s !== '0')],
    ['REASON', entry.explicit ? [] : ['1']],
    ['GROUPS', info('group')],
    ['LICENSE', info('license')],
    ['VALIDATION', [entry.validated ? 'pgp' : 'sha256']],
    ['REPLACES', info('replaces')],
    ['DEPENDS', info('depend')],
    ['OPTDEPENDS', info('optdepend')],
    ['CONFLICTS', info('conflict')],
    ['PROVIDES', info('provides')],
    ['XDATA', info('xdata')],
  ];
  tree.write(`${dir}/desc`, formatDesc(desc.filter(([, v]) => v.length > 0)));
  const files: [string, string[]][] = [['FILES', unpacked.files]];
  if (unpacked.backup.length) files.push(['BACKUP', unpacked.backup.map(([path, md5]) => `${path}\t${md5}`)]);
  tree.write(`${dir}/files`, formatDesc(files.filter(([, v]) => v.length > 0)));
  if (unpacked.mtree) tree.write(`${dir}/mtree`, unpacked.mtree);
  // .INSTALL and .CHANGELOG keep the package's time, as pacman's extraction does (pacman -Qkk checks it against the .MTREE).
  if (unpacked.install) tree.write(`${dir}/install`, unpacked.install, { mtime: unpacked.metadataTimes['.INSTALL'] });
  if (unpacked.changelog) tree.write(`${dir}/changelog`, unpacked.changelog, { mtime: unpacked.metadataTimes['.CHANGELOG'] });
  return `${name}-${version}`;
}
