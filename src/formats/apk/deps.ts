/**
 * apk's dependency atoms: `name`, `name OP version` (OP one of = < <= > >= ~
 * and the fuzzy `=~`, `>~`, `<~`), `name><Q1...` (exactly the package with
 * that checksum), `!name...` (a conflict), each name optionally pinned to a
 * tagged repository (`name@tag`, apk-world(5)); and provides, `name` (a virtual
 * name) or `name=version`. A dependency is met by a package of that name
 * whose version matches, or by one that provides the name with a matching
 * version; a provide without a version meets only a dependency without one.
 */
import { compareApkVersions } from './version.ts';
import type { ApkPackage } from './types.ts';

export interface ApkDependency {
  name: string;
  /** Which comparisons of (candidate version, wanted version) are allowed: any of -1, 0, 1; undefined: any version. */
  accepts?: ReadonlySet<-1 | 0 | 1>;
  version?: string;
  fuzzy?: boolean;
  /** `><Q1...`: only the package with this checksum. */
  checksum?: string;
  conflict: boolean;
  /** `name@tag`: the repository tag the dependency allows besides the untagged repositories (pinning.ts). */
  tag?: string;
  /** As written, for messages. */
  text: string;
}

export interface ApkProvide {
  name: string;
  version?: string;
}

const DEP = /^(!?)([^=<>~!\s]+)(?:(><|[<>=]*~?|~)(.+))?$/;

/** One dependency atom; undefined when it cannot be read. */
export function parseDependency(text: string): ApkDependency | undefined {
  const m = DEP.exec(text.trim());
  if (!m) return undefined;
  const [, bang, rawName, op, version] = m as unknown as [string, string, string, string | undefined, string | undefined];
  // A repository pin: name@tag (apk's TAG_CHARS are those of a name).
  const at = rawName.indexOf('@');
  const name = at < 0 ? rawName : rawName.slice(0, at);
  const tag = at < 0 ? undefined : rawName.slice(at + 1);
  if (name === '' || tag === '' || tag?.includes('@')) return undefined;
  const base = { name, conflict: bang === '!', text, ...(tag !== undefined ? { tag } : {}) };
  if (op === undefined || op === '' || version === undefined) return op ? undefined : base;
  if (op === '><') return { ...base, checksum: version };
  const fuzzy = op.includes('~');
  const accepts = new Set<-1 | 0 | 1>();
  if (op.includes('<')) accepts.add(-1);
  if (op.includes('>')) accepts.add(1);
  if (op.includes('=') || op === '~') accepts.add(0);
  if (accepts.size === 0) return undefined;
  return { ...base, accepts, version, fuzzy };
}

export function parseProvide(text: string): ApkProvide {
  const eq = text.indexOf('=');
  return eq < 0 ? { name: text } : { name: text.slice(0, eq), version: text.slice(eq + 1) };
}

export function parseDependencies(list: readonly string[]): ApkDependency[] {
  return list.flatMap((t) => parseDependency(t) ?? []);
}

/** Whether `version` (of the package, or a versioned provide) meets the dependency's version constraint. */
function versionMatches(dep: ApkDependency, version: string | undefined): boolean {
  if (!dep.accepts) return true;
  if (version === undefined) return false;
  return dep.accepts.has(compareApkVersions(version, dep.version as string, dep.fuzzy));
}

/** How `pkg` stands to the name a dependency asks for: `named` (it is that package), `provides` (with a version, or `virtual` without), or undefined. */
export function providerKind(pkg: ApkPackage, name: string): 'named' | 'provides' | 'virtual' | undefined {
  if (pkg.name === name) return 'named';
  for (const p of pkg.provides.map(parseProvide)) if (p.name === name) return p.version === undefined ? 'virtual' : 'provides';
  return undefined;
}

/** Whether `pkg` has what the dependency asks for (ignoring `!`: a conflict is "pkg matches and must not be installed"). */
export function packageMatches(dep: ApkDependency, pkg: ApkPackage): boolean {
  if (dep.checksum !== undefined) return pkg.checksum === dep.checksum && (pkg.name === dep.name || providerKind(pkg, dep.name) !== undefined);
  if (pkg.name === dep.name) return versionMatches(dep, pkg.version);
  for (const p of pkg.provides.map(parseProvide)) {
    if (p.name !== dep.name) continue;
    if (p.version === undefined ? !dep.accepts : versionMatches(dep, p.version)) return true;
  }
  return false;
}

/** The version under which `pkg` offers `name` (its own, or its provide's); undefined for a virtual provide. */
export function providedVersion(pkg: ApkPackage, name: string): string | undefined {
  if (pkg.name === name) return pkg.version;
  return pkg.provides.map(parseProvide).find((p) => p.name === name)?.version;
}
