/**
 * Native Perl for a foreign tree. Much of a Debian install's emulated time
 * goes to Perl scripts (debconf, deb-systemd-helper). When the host's perl is
 * the same Perl version as the tree's, kiln runs the tree's `#!/usr/bin/perl`
 * (and `#! /usr/bin/perl`) scripts with the host's perl: a binfmt_misc entry
 * for each way of writing that `#!` line, whose interpreter is a small
 * wrapper under the command's private /run, which
 * starts the host perl through the host's dynamic loader with the host's
 * libraries and architecture-specific module directories (all bound under
 * /run/kiln-native, so nothing in the tree changes). The tree's pure-Perl
 * modules (/usr/share/perl5: debconf and friends) are used as they are.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { memoKey } from '../repo/index.ts';
import type { BinfmtEntry } from '../sandbox/index.ts';
import { Tree } from '../tree/index.ts';
import type { TwinnedProgram } from './twin-dispatch.ts';
import { findOnPath } from '../util/path.ts';

const execFileAsync = promisify(execFile);

/** Where the native interpreter lives inside the root while a command runs (/run is private to it). */
const INSIDE = '/run/kiln-native';

export interface NativeInterpreter {
  /** One entry for each way the scripts' `#!` line is written. */
  entries: BinfmtEntry[];
  /**
   * The tree's own perl program, run by the same host perl when a script starts it by name (`perl -e`,
   * libc6's preinst) and the command has native twins: their dispatcher sees it start.
   */
  standIns: TwinnedProgram[];
  /** Host paths bound under /run: relative target -> source. */
  runBinds: { source: string; target: string }[];
  version: string;
}

const escaped = (text: string) => [...Buffer.from(text)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/** The Perl version of a tree, from its Config.pm (Debian, Arch and Alpine layouts). */
export function treePerlVersion(root: string): string | undefined {
  const tree = new Tree(root);
  const candidates: string[] = [];
  for (const base of ['usr/lib', 'usr/lib64']) {
    for (const name of safeReaddir(tree, base)) {
      candidates.push(`${base}/${name}/perl-base/Config.pm`, `${base}/${name}/perl/Config.pm`);
      if (name === 'perl5') for (const v of safeReaddir(tree, `${base}/perl5`)) candidates.push(`${base}/perl5/${v}/core_perl/Config.pm`);
    }
  }
  for (const file of candidates) {
    if (!tree.stat(file)?.isFile()) continue;
    const m = /^\s*version\s*=>\s*'([\d.]+)'/m.exec(tree.readText(file));
    if (m) return m[1];
  }
  return undefined;
}

/** Whether the tree's file at `rel` is an ELF program (not a script, nor a symlink to one). */
function isElf(tree: Tree, rel: string): boolean {
  if (!tree.stat(rel)?.isFile()) return false;
  const head = Buffer.alloc(4);
  const fd = openSync(tree.hostPath(rel), 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  return head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
}

/** A directory's names; none when it is missing or not a directory (a guess at a layout, not a requirement). */
function safeReaddir(tree: Tree, dir: string): string[] {
  return tree.isDirectory(dir) ? tree.readdir(dir) : [];
}

/** The host perl, when it can stand in for the tree's; undefined otherwise. */
export async function nativePerlFor(root: string, cacheDir: string): Promise<NativeInterpreter | undefined> {
  const perl = findOnPath('perl');
  const target = treePerlVersion(root);
  if (!perl || !target) return undefined;
  let version: string;
  let inc: string[];
  let loader: string | undefined;
  let libs: string[];
  try {
    const info = await execFileAsync(perl, ['-MConfig', '-e', 'print join("\\n", $Config{version}, @INC)']);
    [version = '', ...inc] = info.stdout.split('\n');
    const ldd = await execFileAsync('ldd', [perl]);
    const paths = [...ldd.stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1] as string);
    loader = paths.find((p) => /\/ld-[^/]*\.so/.test(p));
    libs = paths.filter((p) => p !== loader);
  } catch {
    return undefined;
  }
  if (version !== target || !loader) return undefined;
  // The host's architecture-specific module directories; a directory the tree has
  // (its pure-Perl modules) stays the tree's own, found through perl's default @INC.
  const tree = new Tree(root);
  const hostOnly = inc.filter((dir) => dir.startsWith('/') && existsSync(dir) && !tree.stat(dir));
  const includes = hostOnly.map((_, i) => `-I${INSIDE}/inc/${i}`).join(' ');
  const wrapper = `#!/bin/sh\nexec ${INSIDE}/ld.so --library-path ${INSIDE}/lib ${INSIDE}/perl.bin ${includes} "$@"\n`;
  const wrapperFile = join(cacheDir, 'native', `perl-${memoKey(wrapper).slice(0, 16)}`);
  if (!existsSync(wrapperFile)) {
    await mkdir(join(cacheDir, 'native'), { recursive: true });
    await writeFile(`${wrapperFile}.${process.pid}.tmp`, wrapper, { mode: 0o755 });
    await rename(`${wrapperFile}.${process.pid}.tmp`, wrapperFile);
  }
  const runBinds = [
    { source: wrapperFile, target: 'kiln-native/perl' },
    { source: perl, target: 'kiln-native/perl.bin' },
    { source: loader, target: 'kiln-native/ld.so' },
    ...libs.map((lib) => ({ source: lib, target: `kiln-native/lib/${lib.replace(/^.*\//, '')}` })),
    ...hostOnly.map((dir, i) => ({ source: dir, target: `kiln-native/inc/${i}` })),
  ];
  return {
    // `#! /usr/bin/perl` too (update-rc.d, which util-linux-extra's postinst runs, among others).
    entries: [
      { name: 'kiln-perl', magic: escaped('#!/usr/bin/perl'), mask: '', interpreter: `${INSIDE}/perl` },
      { name: 'kiln-perl-spaced', magic: escaped('#! /usr/bin/perl'), mask: '', interpreter: `${INSIDE}/perl` },
    ],
    runBinds,
    standIns: isElf(tree, 'usr/bin/perl') ? [{ path: '/usr/bin/perl', twin: '', names: ['perl'], command: `${INSIDE}/perl` }] : [],
    version,
  };
}
