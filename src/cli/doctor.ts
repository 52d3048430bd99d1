/**
 * `kiln doctor`: what this host can do and what is missing, with the package
 * that provides it on Debian/Ubuntu, Fedora and Arch.
 */
import { Command } from '@commander-js/extra-typings';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { firmwareFiles } from '../boot/qemu.ts';
import { BOARDS, elfMagic, hostMachine, MACHINES, qemuName, runsNatively, type Board } from '../catalog/index.ts';
import { escapesToHex, hostBinfmtFor, planIdMapping } from '../sandbox/index.ts';
import { kernelSupportsNamespacedBinfmt } from '../pipeline/emulation.ts';
import { findOnPath } from '../util/path.ts';
import { OUTPUTS, outputTools, type FindTool, type OutputRegistry } from '../outputs/index.ts';

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
  /** Debian/Ubuntu, Fedora, Arch packages that provide it. */
  packages?: [string, string, string];
  required: boolean;
}

const TOOLS: { command: string; why: string; packages: [string, string, string]; required: boolean }[] = [
  { command: 'unshare', why: 'user namespaces', packages: ['util-linux', 'util-linux-core', 'util-linux'], required: true },
  { command: 'mount', why: 'mounts inside the namespace', packages: ['mount', 'util-linux-core', 'util-linux'], required: true },
  { command: 'pivot_root', why: 'running scripts in the tree (the tree as their whole filesystem)', packages: ['util-linux', 'util-linux-core', 'util-linux'], required: true },
  { command: 'umount', why: "detaching the host's root from the scripts' sandbox", packages: ['mount', 'util-linux-core', 'util-linux'], required: true },
  { command: 'prlimit', why: 'the process limit of scripts in the tree', packages: ['util-linux', 'util-linux', 'util-linux'], required: true },
  { command: 'xz', why: 'Debian packages, .tar.xz outputs', packages: ['xz-utils', 'xz', 'xz'], required: true },
  { command: 'zstd', why: '.tar.zst outputs, Ubuntu and Arch packages', packages: ['zstd', 'zstd', 'zstd'], required: false },
  { command: 'gzip', why: '.tar.gz outputs', packages: ['gzip', 'gzip', 'gzip'], required: false },
  { command: 'getfattr', why: 'extended attributes (capabilities) in tar outputs', packages: ['attr', 'attr', 'attr'], required: true },
  { command: 'tar', why: 'kiln shell on a tar output, the cached pacman keyring', packages: ['tar', 'tar', 'tar'], required: false },
  { command: 'rsync', why: 'a rebuild updates an earlier directory output in place (changed files only) instead of copying it anew', packages: ['rsync', 'rsync', 'rsync'], required: false },
  { command: 'gpg', why: "Arch images: the pacman keyring made natively (else the tree's pacman-key runs, emulated when foreign)", packages: ['gpg', 'gnupg2', 'gnupg'], required: false },
];

function checkUserNamespaces(): Check {
  const r = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { encoding: 'utf8' });
  return {
    what: 'unprivileged user namespaces',
    ok: r.status === 0,
    detail: r.status === 0 ? 'allowed' : (r.stderr || r.error?.message || 'unshare failed').trim(),
    required: true,
  };
}

function checkIdMapping(): Check[] {
  if (process.getuid?.() === 0) return [{ what: 'id mapping', ok: true, detail: 'running as root: no mapping needed', required: true }];
  const planned = planIdMapping();
  const checks: Check[] = [{ what: 'subordinate ids', ok: Boolean(planned.mapping), detail: planned.mapping ? '65536 uids and gids available' : (planned.missing ?? ''), required: true }];
  for (const tool of ['newuidmap', 'newgidmap']) {
    const path = findOnPath(tool);
    const setuid = path ? (statSync(path).mode & 0o4000) !== 0 || hasCapability(path) : false;
    checks.push({ what: tool, ok: Boolean(path && setuid), detail: !path ? 'not found' : setuid ? path : `${path} is neither setuid nor has file capabilities`, packages: ['uidmap', 'shadow-utils', 'shadow'], required: true });
  }
  return checks;
}

function hasCapability(path: string): boolean {
  const r = spawnSync('getcap', [path], { encoding: 'utf8' });
  return r.status === 0 && /cap_set[ug]id/.test(r.stdout);
}

function checkEmulation(): Check[] {
  const checks: Check[] = [];
  const nsBinfmt = kernelSupportsNamespacedBinfmt();
  checks.push({ what: 'binfmt_misc per namespace', ok: nsBinfmt, detail: nsBinfmt ? `Linux ${release()}: QEMU is registered inside each build, no host setup` : `Linux ${release()} < 6.7: the host's QEMU registration is needed`, required: false });
  for (const machine of MACHINES) {
    if (runsNatively(machine)) continue;
    const qemu = `qemu-${qemuName(machine)}-static`;
    const path = findOnPath(qemu);
    const host = hostBinfmtFor(escapesToHex(elfMagic(machine).magic));
    const ok = Boolean(path && (nsBinfmt || host));
    const detail = !path ? `${qemu} not found` : nsBinfmt ? path : host ? `host registration ${host.name}` : 'no host binfmt registration';
    checks.push({ what: `run ${machine} programs`, ok, detail, packages: ['qemu-user-static', 'qemu-user-static', 'qemu-user-static'], required: false });
  }
  return checks;
}

/** One line per output format: the host tools its writer (and those it is made from) run, and whether each is here. */
export function outputChecks(registry: OutputRegistry = OUTPUTS, find: FindTool = findOnPath): Check[] {
  return Object.keys(registry).map((format) => {
    const tools = outputTools([format], registry, find).flatMap((w) => w.tools);
    const missing = tools.filter((t) => !t.path);
    const detail = tools.map((t) => (t.path ? `${t.tool.command} ${t.path}` : `${t.tool.command} not found`)).join(', ') || 'no host tools';
    const packages = [0, 1, 2].map((i) => [...new Set(missing.map((t) => t.tool.packages[i]))].join(' ')) as [string, string, string];
    return { what: `output ${format}`, ok: missing.length === 0, detail, ...(missing.length ? { packages } : {}), required: false };
  });
}

/** kiln boot: for each board QEMU can start, its system emulator and its firmware files (Debian's package names in the detail). */
export function bootChecks(boards: readonly Board[] = Object.values(BOARDS), find: FindTool = findOnPath, exists: (path: string) => boolean = existsSync): Check[] {
  return boards.flatMap((board) => {
    const q = board.qemu;
    if (!q) return [];
    const emulator = `qemu-system-${q.emulator}`;
    const path = find(emulator);
    const files = firmwareFiles(q);
    const missingFirmware = files.filter((f) => !exists(f.file));
    return [
      { what: `boot ${board.name}: ${emulator}`, ok: Boolean(path), detail: path ?? `not found (Debian/Ubuntu package ${q.emulatorPackage})`, required: false },
      ...(files.length === 0 ? [] : [{ what: `boot ${board.name}: firmware`, ok: missingFirmware.length === 0, detail: missingFirmware.length ? `${missingFirmware.map((f) => f.file).join(', ')} not found (Debian/Ubuntu package ${[...new Set(missingFirmware.map((f) => f.package))].join(', ')}; or set boot.firmware)` : files.map((f) => f.file).join(', '), required: false }]),
    ];
  });
}

export function doctorCommand() {
  return new Command('doctor').description('check what this host needs for rootless and foreign-architecture builds').action(() => {
    const checks: Check[] = [checkUserNamespaces(), ...checkIdMapping()];
    for (const tool of TOOLS) {
      const path = findOnPath(tool.command);
      checks.push({ what: tool.command, ok: Boolean(path), detail: path ? `${path} (${tool.why})` : `not found (${tool.why})`, packages: tool.packages, required: tool.required });
    }
    checks.push(...outputChecks());
    checks.push(...checkEmulation());
    checks.push(...bootChecks());
    let failed = false;
    process.stdout.write(`kiln doctor: host ${hostMachine()}, Linux ${release()}\n`);
    for (const c of checks) {
      const mark = c.ok ? 'ok     ' : c.required ? 'MISSING' : 'missing';
      process.stdout.write(`${mark}  ${c.what.padEnd(30)} ${c.detail}\n`);
      if (!c.ok && c.packages) process.stdout.write(`         install: Debian/Ubuntu ${c.packages[0]}, Fedora ${c.packages[1]}, Arch ${c.packages[2]}\n`);
      if (!c.ok && c.required) failed = true;
    }
    process.exitCode = failed ? 1 : 0;
  });
}
