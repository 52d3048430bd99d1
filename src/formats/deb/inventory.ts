/**
 * What is installed in a Debian tree, read from dpkg's own database
 * (/var/lib/dpkg/status) and, for licenses, from each package's
 * machine-readable copyright file (DEP-5 `License:` fields).
 */
import { Tree, TreeError } from '../../tree/index.ts';
import type { InstalledPackage, PackageDatabase } from '../types.ts';
import { field, parseStanzas } from './control.ts';
import { debDependencies } from './installed-relations.ts';

export async function inventoryDeb(root: string, warn: (message: string) => void = () => {}): Promise<InstalledPackage[]> {
  const tree = new Tree(root);
  const status = tree.readText('var/lib/dpkg/status');
  const out: InstalledPackage[] = [];
  for (const stanza of parseStanzas(status)) {
    if (!/\binstalled$/.test(field(stanza, 'Status') ?? '')) continue;
    const name = field(stanza, 'Package') as string;
    const version = field(stanza, 'Version') as string;
    const source = field(stanza, 'Source');
    const installedKiB = Number(field(stanza, 'Installed-Size'));
    out.push({
      name,
      version,
      architecture: field(stanza, 'Architecture') ?? 'all',
      // "Source: name (version)" when the source version differs; the name alone otherwise.
      source: source ? (source.split(' ')[0] as string) : name,
      installedSize: Number.isFinite(installedKiB) ? installedKiB * 1024 : undefined,
      licenses: copyrightLicenses(tree, name, warn),
      homepage: field(stanza, 'Homepage'),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The distinct license names of a DEP-5 copyright file; none when the file is free-form, missing or not a regular file (said through `warn`). */
export function copyrightLicenses(tree: Tree, pkg: string, warn: (message: string) => void): string[] {
  let text: string | undefined;
  try {
    text = tree.readTextIfExists(`usr/share/doc/${pkg}/copyright`);
  } catch (err) {
    if (!(err instanceof TreeError)) throw err;
    warn(`${pkg}: its licenses are left out of the manifest: ${err.message}`);
    return [];
  }
  if (text === undefined) return [];
  if (!/^Format:\s*\S*copyright-format/m.test(text)) return [];
  const names = new Set<string>();
  for (const m of text.matchAll(/^License:[ \t]*([^\n]+)$/gm)) {
    const name = (m[1] as string).trim();
    if (name) names.add(name);
  }
  return [...names];
}

const DPKG_INFO = 'var/lib/dpkg/info';

/** dpkg's database: the status file, and one `PACKAGE[:ARCH].list` of owned paths per package. */
export const debDatabase: PackageDatabase = {
  marker: 'var/lib/dpkg/status',
  paths: /^var\/lib\/dpkg\/(status|info\/[^/]+\.list)$/,
  ownedFiles(root) {
    const tree = new Tree(root);
    const owners = new Map<string, string[]>();
    for (const name of tree.readdir(DPKG_INFO).filter((n) => n.endsWith('.list'))) {
      const pkg = name.slice(0, -'.list'.length).replace(/:[^:]+$/, '');
      for (const line of tree.readText(`${DPKG_INFO}/${name}`).split('\n')) addOwner(owners, line, pkg);
    }
    return owners;
  },
  // status, info/, diversions, statoverride, triggers/, alternatives/: dpkg's state, none of it a package's.
  directory: 'var/lib/dpkg',
  dependencies: debDependencies,
};

/** Records `pkg` as an owner of the path `line` names (leading and trailing slashes dropped; the root left out). */
export function addOwner(owners: Map<string, string[]>, line: string, pkg: string): void {
  const path = line.replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '' || path === '.') return;
  const list = owners.get(path);
  if (!list) owners.set(path, [pkg]);
  else if (!list.includes(pkg)) list.push(pkg);
}
