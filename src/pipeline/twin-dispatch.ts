/**
 * The native-twin dispatcher: the interpreter of the build's own
 * binfmt_misc entry for the target's ELF magic, in place of QEMU. It is a
 * script for a static busybox's shell (a native program: a #!/bin/sh script
 * would start the tree's foreign sh and come back here). It gets the foreign
 * program's path as given to execve and its arguments; when that path is
 * (the same file as) a twinned program, it execs the twin through the
 * twins' loader (glibc's or musl's) with the twins' libraries and the same
 * argv[0] QEMU would give (a static twin as it is, with that argv[0]);
 * otherwise, or when LD_PRELOAD or LD_LIBRARY_PATH is set (they
 * name libraries of the tree's architecture), it execs QEMU as before. Each
 * execution appends a line to a log kiln reads afterwards: n (native) or e
 * (emulated), the package whose script is running (`-` outside one) and
 * the program's path.
 *
 * The table is made afresh for every command from the tree as it is: a
 * program is twinned only when the tree's package database (dpkg's status,
 * pacman's local database, apk's installed database) has its package at
 * the twin's version and the tree's file is still the one its package
 * shipped (dpkg's md5sums, the package's .MTREE, apk's Z: checksums), so a wrong-version twin, a diverted or replaced
 * program, never runs. Which variable names the package whose script runs
 * is the format's (DPKG_MAINTSCRIPT_PACKAGE, kiln's own for pacman).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FormatTwins } from '../formats/twins.ts';
import { shellQuote } from '../formats/script-batch.ts';
import { Tree } from '../tree/index.ts';
import type { TwinSet } from './twin-store.ts';

/** One program a twin runs: the path in the tree, the twin's file (relative to the store) and the names it is started by. */
export interface TwinnedProgram {
  path: string;
  twin: string;
  names: string[];
  /** Only with one of these first arguments, when started by its own name (otherwise under QEMU); by an alias, always. */
  firstArgs?: string[];
  /** A static program (no PT_INTERP): run as it is, not through the twins' loader (musl's runs no static program). */
  direct?: boolean;
  /** Run by this native command instead of a twin (`twin` unused): the host perl's wrapper for the tree's perl. */
  command?: string;
}

export interface TwinTable {
  programs: TwinnedProgram[];
  /** Packages of the set not used for this command, and why. */
  unused: { name: string; why: string }[];
}

const PROGRAM_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin'];

/** The twinned programs of the tree as it is now. */
export function twinTable(root: string, twins: Pick<TwinSet, 'storeDir' | 'programs'>, format: Pick<FormatTwins, 'rules' | 'neverNative' | 'tree'>): TwinTable {
  const tree = new Tree(root);
  const installed = format.tree.installed(tree);
  const programs: TwinnedProgram[] = [];
  const unused: TwinTable['unused'] = [];
  for (const pkg of twins.programs) {
    const version = installed.get(pkg.name);
    if (version !== pkg.version) {
      unused.push({ name: pkg.name, why: version === undefined ? 'not installed in the tree' : `the tree has ${version}, the twin is ${pkg.version}` });
      continue;
    }
    const shipped = format.tree.shipped(tree, pkg.name, pkg.version);
    const rule = format.rules[pkg.name] ?? {};
    for (const { rel, direct } of twinPrograms(join(twins.storeDir, pkg.dir))) {
      const name = basename(rel);
      const firstArgs = rule.firstArgs?.[name];
      if ((format.neverNative.has(name) && !firstArgs) || rule.except?.includes(name) || (rule.only && !rule.only.includes(name))) continue;
      if (!shipped(rel)) continue;
      const aliases = (rule.aliases?.[name] ?? []).filter((a) => !format.neverNative.has(a));
      programs.push({ path: `/${rel}`, twin: `${pkg.dir}/${rel}`, names: [name, ...aliases], ...(firstArgs ? { firstArgs } : {}), ...(direct ? { direct } : {}) });
    }
  }
  return { programs, unused };
}

/**
 * An unpacked twin's ELF programs and whether each is static, read once per
 * worker: a twin in the store never changes, and the table is made again
 * for every command that runs scripts.
 */
const programsOfTwin = new Map<string, { rel: string; direct: boolean }[]>();

function twinPrograms(dir: string): { rel: string; direct: boolean }[] {
  let programs = programsOfTwin.get(dir);
  if (!programs) {
    programs = elfPrograms(dir).map((rel) => ({ rel, direct: !hasInterpreter(join(dir, rel)) }));
    programsOfTwin.set(dir, programs);
  }
  return programs;
}

/** The first `length` bytes of a file (fewer if it is shorter). */
function head(file: string, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    return buf.subarray(0, readSync(fd, buf, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The ELF programs of an unpacked package (regular files only), relative to it, sorted. */
function elfPrograms(dir: string): string[] {
  const out: string[] = [];
  for (const sub of PROGRAM_DIRS) {
    let names: string[];
    try {
      names = readdirSync(join(dir, sub)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const file = join(dir, sub, name);
      const st = statSync(file, { throwIfNoEntry: false });
      if (!st?.isFile() || !(st.mode & 0o111)) continue;
      if (head(file, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) out.push(`${sub}/${name}`);
    }
  }
  return out;
}

/** Whether an ELF file names a program interpreter (PT_INTERP): a dynamically linked program, not a static one. */
export function hasInterpreter(file: string): boolean {
  // The ELF header and the program headers: at the start of every program a linker makes (else the whole file).
  let elf = head(file, 16384);
  if (elf.length < 52) return true;
  let table = programHeaders(elf);
  if (table.end > elf.length && elf.length === 16384) {
    elf = readFileSync(file);
    table = programHeaders(elf);
  }
  // A table past the end of the file: not one to run without the loader.
  if (elf.length < (table.wide ? 64 : 52) || table.end > elf.length) return true;
  for (let i = 0; i < table.count; i++) if (table.u32(table.offset + i * table.size) === 3) return true;
  return false;
}

/** Where an ELF file's program header table is (from its header), and how to read its words. */
function programHeaders(elf: Buffer) {
  const wide = elf[4] === 2;
  const little = elf[5] === 1;
  const u16 = (at: number) => (little ? elf.readUInt16LE(at) : elf.readUInt16BE(at));
  const u32 = (at: number) => (little ? elf.readUInt32LE(at) : elf.readUInt32BE(at));
  const offset = wide && elf.length >= 64 ? Number(little ? elf.readBigUInt64LE(32) : elf.readBigUInt64BE(32)) : u32(28);
  const [size, count] = wide && elf.length >= 64 ? [u16(54), u16(56)] : [u16(42), u16(44)];
  return { wide, u32, offset, size, count, end: offset + size * count };
}

/** Where the dispatcher's files are inside the tree while a command runs (/run is private to it). */
export const DISPATCH_BASE = '/run/kiln-native';

/** The dispatcher: its script, and for each program name the lines it runs for that name (BASE/names/NAME). */
export interface Dispatcher {
  script: string;
  byName: Map<string, string>;
}

/**
 * The dispatcher (for busybox's sh, at BASE/busybox; QEMU at BASE/qemu, the
 * store at BASE/twins, the log at BASE/log/execs, the names at BASE/names).
 * It runs for every foreign program the command starts, so it reads as
 * little as it can: the shell parses a whole compound command before it
 * runs any of it, and one case over every name (with the loader and library
 * path written out in each branch) cost more than the program it started;
 * the script only sources the small file of the program's own name.
 */
export function dispatcher(
  table: TwinTable,
  twins: Pick<TwinSet, 'loader' | 'libraryPath'>,
  base: string,
  shell: string,
  /** The variable naming the package whose script runs (the format's: FormatTwins.tree.scriptPackageVariable). */
  scriptPackage: string,
): Dispatcher {
  const store = `${base}/twins`;
  const log = shellQuote(`${base}/log/execs`);
  const libraryPath = shellQuote(twins.libraryPath.map((d) => `${store}/${d}`).join(':'));
  const loader = shellQuote(`${store}/${twins.loader}`);
  const programsByName = new Map<string, TwinnedProgram[]>();
  for (const p of table.programs) for (const name of p.names) programsByName.set(name, [...(programsByName.get(name) ?? []), p]);
  const byName = new Map<string, string>();
  for (const [name, programs] of programsByName) {
    // $2 is the program's first argument.
    const only = (p: TwinnedProgram) => (p.firstArgs && name === p.names[0] ? ` && { ${p.firstArgs.map((a) => `[ "$2" = ${shellQuote(a)} ]`).join(' || ')}; }` : '');
    // busybox's exec -a: argv[0] as QEMU would give it, for a static program that runs without the loader.
    const run = (p: TwinnedProgram) =>
      p.command ? `exec ${shellQuote(p.command)}` : p.direct ? `exec -a "$f" ${shellQuote(`${store}/${p.twin}`)}` : `exec "$kiln_twin_loader" --library-path "$kiln_twin_libraries" --argv0 "$f" ${shellQuote(`${store}/${p.twin}`)}`;
    const tries = programs.map(
      (p) => `if [ "$f" -ef ${shellQuote(p.path)} ]${only(p)}; then echo "n \${${scriptPackage}:--} "${shellQuote(p.path)} >> ${log}; shift; ${run(p)} "$@"; fi`,
    );
    byName.set(name, `${tries.join('\n')}\n`);
  }
  const names = `${base}/names`;
  const script = [
    `#!${shell}`,
    '# kiln: a foreign program, $1, with its arguments: its native twin if it has one, else QEMU.',
    'f=$1',
    `kiln_twin_loader=${loader}`,
    `kiln_twin_libraries=${libraryPath}`,
    `if [ -z "$LD_PRELOAD$LD_LIBRARY_PATH" ] && [ -f ${shellQuote(names)}/"\${f##*/}" ]; then . ${shellQuote(names)}/"\${f##*/}"; fi`,
    `echo "e \${${scriptPackage}:--} $f" >> ${log}`,
    `exec ${shellQuote(`${base}/qemu`)} "$@"`,
    '',
  ].join('\n');
  return { script, byName };
}

export interface ExecutionCounts {
  native: number;
  emulated: number;
  /** Executions by path, "n PATH" or "e PATH" -> count. */
  byPath: Map<string, number>;
  /** Executions during each package's maintainer scripts. */
  byPackage: Map<string, { native: number; emulated: number }>;
}

export function noExecutions(): ExecutionCounts {
  return { native: 0, emulated: 0, byPath: new Map(), byPackage: new Map() };
}

/** The dispatcher's log, counted. */
export function countExecutions(log: string, into: ExecutionCounts = noExecutions()): ExecutionCounts {
  for (const line of log.split('\n')) {
    const m = /^([ne]) (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const [, kind, pkg, path] = m as unknown as [string, 'n' | 'e', string, string];
    if (kind === 'n') into.native++;
    else into.emulated++;
    into.byPath.set(`${kind} ${path}`, (into.byPath.get(`${kind} ${path}`) ?? 0) + 1);
    if (pkg === '-') continue;
    const counts = into.byPackage.get(pkg) ?? { native: 0, emulated: 0 };
    counts[kind === 'n' ? 'native' : 'emulated']++;
    into.byPackage.set(pkg, counts);
  }
  return into;
}
