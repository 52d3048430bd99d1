/**
 * Binary package records from a Packages index (or /var/lib/dpkg/status).
 * A record reads its stanza when asked: a full index has ~63 000 packages,
 * and a resolution looks closely at a few hundred of them (parsing every
 * relationship field up front would triple the time to load an index).
 */

import { UserError } from '../../util/errors.ts';
import { field, parseStanzas, type Stanza } from './control.ts';
import { parseRelations, type Relation } from './relations.ts';

export type MultiArch = 'no' | 'same' | 'foreign' | 'allowed';

export interface DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly multiArch: MultiArch;
  readonly essential: boolean;
  /** 'required', 'important', 'standard', 'optional' (the default) or 'extra'. */
  readonly priority: string;
  readonly section: string;
  /** The source package; defaults to the binary package's own name and version. */
  readonly source: { readonly name: string; readonly version: string };
  /** KiB, 0 when not given. */
  readonly installedSize: number;
  /** Bytes of the .deb, 0 when not given. */
  readonly size: number;
  /** Path of the .deb below the mirror's root, '' when not given. */
  readonly filename: string;
  readonly sha256: string;
  readonly depends: Relation[][];
  readonly preDepends: Relation[][];
  readonly recommends: Relation[][];
  /** Each possibly versioned with `=`. */
  readonly provides: Relation[];
  readonly conflicts: Relation[];
  readonly breaks: Relation[];
  readonly replaces: Relation[];
  /** Every field as read, to write /var/lib/dpkg/status later. */
  readonly stanza: Stanza;
  /** Where the record came from (an index's URL or name), if the caller said. */
  readonly origin?: string;
}

const MULTI_ARCH_VALUES: ReadonlySet<string> = new Set(['no', 'same', 'foreign', 'allowed']);

function parseSize(stanza: Stanza, name: string): number {
  const text = field(stanza, name);
  if (text === undefined) return 0;
  const size = Number(text);
  return Number.isSafeInteger(size) && size >= 0 ? size : 0;
}

function inOrigin(origin: string | undefined): string {
  return origin ? ` in ${origin}` : '';
}

function parseSource(text: string | undefined, name: string, version: string): { name: string; version: string } {
  if (text === undefined) return { name, version };
  const open = text.indexOf('(');
  if (open === -1) return { name: text.trim(), version };
  return { name: text.slice(0, open).trim(), version: text.slice(open + 1, text.lastIndexOf(')')).trim() };
}

/**
 * A record over its stanza: name, version and architecture are read at once
 * (every index look-up needs them), other fields when asked, relationship
 * fields parsed once on first use.
 */
class IndexedPackage implements DebPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  #depends: Relation[][] | undefined;
  #preDepends: Relation[][] | undefined;
  #recommends: Relation[][] | undefined;
  #provides: Relation[] | undefined;
  #conflicts: Relation[] | undefined;
  #breaks: Relation[] | undefined;
  #replaces: Relation[] | undefined;

  constructor(
    readonly stanza: Stanza,
    readonly origin: string | undefined,
  ) {
    const name = field(stanza, 'Package');
    if (name === undefined || name === '') throw new UserError(`a package record${inOrigin(origin)} has no Package field`);
    const version = field(stanza, 'Version');
    if (version === undefined || version === '') throw new UserError(`package ${name}${inOrigin(origin)} has no Version field`);
    this.name = name;
    this.version = version;
    this.architecture = field(stanza, 'Architecture') ?? 'all';
  }

  get multiArch(): MultiArch {
    const multiArch = field(this.stanza, 'Multi-Arch')?.toLowerCase() ?? 'no';
    return MULTI_ARCH_VALUES.has(multiArch) ? (multiArch as MultiArch) : 'no';
  }
  get essential(): boolean {
    return field(this.stanza, 'Essential')?.toLowerCase() === 'yes';
  }
  get priority(): string {
    return field(this.stanza, 'Priority')?.toLowerCase() ?? 'optional';
  }
  get section(): string {
    return field(this.stanza, 'Section') ?? '';
  }
  get source(): { name: string; version: string } {
    return parseSource(field(this.stanza, 'Source'), this.name, this.version);
  }
  get installedSize(): number {
    return parseSize(this.stanza, 'Installed-Size');
  }
  get size(): number {
    return parseSize(this.stanza, 'Size');
  }
  get filename(): string {
    return field(this.stanza, 'Filename') ?? '';
  }
  get sha256(): string {
    return field(this.stanza, 'SHA256') ?? '';
  }

  get depends(): Relation[][] {
    return (this.#depends ??= this.relationField('Depends'));
  }
  get preDepends(): Relation[][] {
    return (this.#preDepends ??= this.relationField('Pre-Depends'));
  }
  get recommends(): Relation[][] {
    return (this.#recommends ??= this.relationField('Recommends'));
  }
  get provides(): Relation[] {
    return (this.#provides ??= this.relationField('Provides').flat());
  }
  get conflicts(): Relation[] {
    return (this.#conflicts ??= this.relationField('Conflicts').flat());
  }
  get breaks(): Relation[] {
    return (this.#breaks ??= this.relationField('Breaks').flat());
  }
  get replaces(): Relation[] {
    return (this.#replaces ??= this.relationField('Replaces').flat());
  }

  /** The plain fields (getters do not survive JSON.stringify otherwise). */
  toJSON(): Record<string, unknown> {
    const { name, version, architecture, multiArch, essential, priority, section, source } = this;
    const { installedSize, size, filename, sha256, origin } = this;
    return { name, version, architecture, multiArch, essential, priority, section, source, installedSize, size, filename, sha256, origin };
  }

  /** A relationship field, parsed; a malformed one names the package. */
  private relationField(fieldName: string): Relation[][] {
    const text = field(this.stanza, fieldName);
    if (text === undefined) return [];
    try {
      return parseRelations(text);
    } catch (error) {
      throw new UserError(`package ${this.name}${inOrigin(this.origin)}: bad ${fieldName} field`, (error as Error).message, {
        cause: error,
      });
    }
  }
}

/** A package record from one stanza of a Packages index or status file. */
export function packageFromStanza(stanza: Stanza, origin?: string): DebPackage {
  return new IndexedPackage(stanza, origin);
}

/** Every package of a Packages index; `origin` is kept on each record. */
export function parsePackages(text: string, origin?: string): DebPackage[] {
  return parseStanzas(text).map((stanza) => new IndexedPackage(stanza, origin));
}
