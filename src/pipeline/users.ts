/**
 * Users and groups, written natively into the image's /etc/passwd, group,
 * shadow and gshadow (as systemd-sysusers does): no emulated useradd, the
 * same result on every architecture. Ids come from the config or are
 * allocated as useradd would (normal accounts from 1000 up, system ones
 * from 999 down); a user gets a group of its own name, a home made from
 * /etc/skel, and its SSH keys.
 */
import { userNameProblem, type Config } from '../config/index.ts';
import { Tree } from '../tree/index.ts';
import { UserError } from '../util/errors.ts';

type UserSpec = Config['users.accounts'][number];
type GroupSpec = Config['users.groups'][number];

/** One of the colon-separated account files, kept in its order. */
class AccountFile {
  private constructor(
    private readonly tree: Tree,
    readonly path: string,
    readonly rows: string[][],
  ) {}

  /** The file's rows; undefined when the image has none (a FIFO or other non-file is a TreeError). */
  static read(tree: Tree, name: string): AccountFile | undefined {
    const path = `etc/${name}`;
    const text = tree.readTextIfExists(path);
    if (text === undefined) return undefined;
    const rows = text.split('\n').filter((l) => l !== '').map((l) => l.split(':'));
    return new AccountFile(tree, path, rows);
  }

  find(name: string): string[] | undefined {
    return this.rows.find((r) => r[0] === name);
  }

  ids(field: number): Set<number> {
    return new Set(this.rows.map((r) => Number(r[field])));
  }

  /** Replaces the file, keeping its owner and mode. */
  write(): void {
    this.tree.write(this.path, this.rows.map((r) => r.join(':')).join('\n') + '\n');
  }
}

export interface UsersContext {
  root: string;
  sourceDateEpoch: number;
  /** Sets plain passwords with the image's chpasswd (it hashes them as the image would). */
  chpasswd(input: string): Promise<void>;
}

/** The first free id from `from` counting by `step` (+1 for normal accounts, -1 for system ones). */
function allocate(used: Set<number>, system: boolean, wanted?: number): number {
  if (wanted !== undefined && !used.has(wanted)) return wanted;
  for (let id = system ? 999 : 1000; system ? id >= 100 : id < 60000; id += system ? -1 : 1) if (!used.has(id)) return id;
  throw new UserError(`no free ${system ? 'system ' : ''}id left in the image`);
}

export async function applyUsers(ctx: UsersContext, users: readonly UserSpec[], groups: readonly GroupSpec[]): Promise<void> {
  if (!users.length && !groups.length) return;
  const tree = new Tree(ctx.root);
  const passwd = AccountFile.read(tree, 'passwd');
  const group = AccountFile.read(tree, 'group');
  const shadow = AccountFile.read(tree, 'shadow');
  const gshadow = AccountFile.read(tree, 'gshadow');
  if (!passwd || !group) throw new UserError('users: the image has no /etc/passwd or /etc/group (its base packages make them)');
  const days = String(Math.floor(ctx.sourceDateEpoch / 86400));

  const addGroup = (name: string, system: boolean, gid?: number): string[] => {
    const existing = group.find(name);
    if (existing) {
      if (gid !== undefined && Number(existing[2]) !== gid) throw new UserError(`[[group]] ${name}: the image already has it with gid ${existing[2]}, not ${gid}`);
      return existing;
    }
    if (gid !== undefined && group.ids(2).has(gid)) throw new UserError(`[[group]] ${name}: gid ${gid} belongs to ${group.rows.find((r) => Number(r[2]) === gid)?.[0]}`);
    const row = [name, 'x', String(allocate(group.ids(2), system, gid)), ''];
    group.rows.push(row);
    gshadow?.rows.push([name, '!', '', '']);
    return row;
  };
  const addMember = (groupName: string, user: string, who: string) => {
    const row = group.find(groupName);
    if (!row) throw new UserError(`${who}: no group "${groupName}" in the image; add a [[group]] for it`);
    const members = (row[3] ?? '').split(',').filter(Boolean);
    if (!members.includes(user)) row[3] = [...members, user].join(',');
    const srow = gshadow?.find(groupName);
    if (srow) {
      const smembers = (srow[3] ?? '').split(',').filter(Boolean);
      if (!smembers.includes(user)) srow[3] = [...smembers, user].join(',');
    }
  };

  for (const g of groups) {
    const badName = userNameProblem(g.name);
    if (badName) throw new UserError(`[[group]] ${g.name}: ${badName}`);
    if (g.gid === 0) throw new UserError(`[[group]] ${g.name}: gid 0 is the root group's`);
    addGroup(g.name, g.system ?? false, g.gid);
  }

  const plain: string[] = [];
  const homes: { home: string; uid: number; gid: number; keys: string[]; fresh: boolean }[] = [];
  for (const u of users) {
    const who = `[[user]] ${u.name}`;
    // The config check refuses these already (before anything runs); kept as a guard for other callers.
    const badName = userNameProblem(u.name);
    if (badName) throw new UserError(`${who}: ${badName}`);
    if (u.uid === 0) throw new UserError(`${who}: uid 0 is the root user's`);
    if ([u['password-hash'], u.password].filter(Boolean).length + (u.locked ? 1 : 0) > 1) throw new UserError(`${who}: give one of password-hash, password, locked`);
    const system = u.system ?? false;
    let row = passwd.find(u.name);
    const fresh = !row;
    if (!row) {
      if (u.uid !== undefined && passwd.ids(2).has(u.uid)) throw new UserError(`${who}: uid ${u.uid} belongs to ${passwd.rows.find((r) => Number(r[2]) === u.uid)?.[0]}`);
      const uid = allocate(passwd.ids(2), system, u.uid);
      const gid = u.group !== undefined ? Number(/^\d+$/.test(u.group) ? u.group : (group.find(u.group)?.[2] ?? NaN)) : Number(addGroup(u.name, system, group.ids(2).has(uid) ? undefined : uid)[2]);
      if (!Number.isInteger(gid)) throw new UserError(`${who}: no group "${u.group}" in the image; add a [[group]] for it`);
      const home = u.home ?? (system ? '/nonexistent' : `/home/${u.name}`);
      const shell = u.shell ?? (system ? firstIn(tree, ['/usr/sbin/nologin', '/sbin/nologin', '/bin/false']) : firstIn(tree, ['/bin/bash', '/bin/sh']));
      row = [u.name, 'x', String(uid), String(gid), u.comment ?? '', home, shell];
      passwd.rows.push(row);
      shadow?.rows.push([u.name, '!', days, '0', '99999', '7', '', '', '']);
    } else {
      if (u.uid !== undefined && Number(row[2]) !== u.uid) throw new UserError(`${who}: the image already has it with uid ${row[2]}, not ${u.uid}`);
      if (u.comment !== undefined) row[4] = u.comment;
      if (u.home !== undefined) row[5] = u.home;
      if (u.shell !== undefined) row[6] = u.shell;
    }
    const srow = shadow?.find(u.name);
    if (u['password-hash']) {
      if (!srow) throw new UserError(`${who}: the image has no /etc/shadow to hold a password hash`);
      srow[1] = u['password-hash'];
    } else if (u.locked && srow) {
      srow[1] = srow[1]?.startsWith('!') ? srow[1] : `!${srow[1] ?? ''}`;
    } else if (u.password) {
      plain.push(`${u.name}:${u.password}`);
    }
    for (const g of u.groups ?? []) addMember(g, u.name, who);
    const home = row[5] as string;
    if (home !== '/nonexistent' && home !== '/' && (!system || u.home !== undefined)) homes.push({ home, uid: Number(row[2]), gid: Number(row[3]), keys: u['ssh-authorized-keys'] ?? [], fresh });
    else if (u['ssh-authorized-keys']?.length) throw new UserError(`${who}: ssh-authorized-keys needs a home directory; set home`);
  }
  for (const g of groups) for (const m of g.members ?? []) addMember(g.name, m, `[[group]] ${g.name}`);
  for (const f of [passwd, group, shadow, gshadow]) f?.write();
  for (const h of homes) makeHome(tree, h);
  if (plain.length) await ctx.chpasswd(plain.join('\n') + '\n');
}

function firstIn(tree: Tree, paths: string[]): string {
  for (const p of paths) if (tree.exists(p)) return p;
  return paths.at(-1) as string;
}

/** The home directory (0700, from /etc/skel when new) and ~/.ssh/authorized_keys. */
function makeHome(tree: Tree, h: { home: string; uid: number; gid: number; keys: string[]; fresh: boolean }): void {
  tree.mkdir(h.home);
  if (h.fresh) {
    tree.chown(h.home, h.uid, h.gid);
    tree.chmod(h.home, 0o700);
    copySkel(tree, 'etc/skel', h.home, h.uid, h.gid);
  }
  if (h.keys.length) writeKeys(tree, h.home, h.keys, h.uid, h.gid);
}

/** /etc/skel's files, directories and links into a new home; nothing else (a FIFO there is skipped). */
function copySkel(tree: Tree, from: string, to: string, uid: number, gid: number): void {
  for (const name of tree.readdir(from)) {
    const src = `${from}/${name}`;
    const dst = `${to}/${name}`;
    const st = tree.lstat(src);
    if (!st || tree.exists(dst)) continue;
    if (st.isDirectory()) {
      tree.mkdir(dst);
      copySkel(tree, src, dst, uid, gid);
      tree.chmod(dst, st.mode & 0o7777);
    } else if (st.isSymbolicLink()) {
      tree.symlink(tree.readlink(src) as string, dst);
    } else if (st.isFile()) {
      tree.write(dst, tree.readBytes(src), { mode: st.mode & 0o7777, uid, gid });
      continue;
    } else continue;
    tree.chown(dst, uid, gid, { follow: false });
  }
}

/** HOME/.ssh/authorized_keys in the image with the keys (0700 and 0600, owned by the user). */
export async function writeAuthorizedKeys(root: string, home: string, keys: readonly string[], uid: number, gid: number): Promise<void> {
  writeKeys(new Tree(root), home, keys, uid, gid);
}

function writeKeys(tree: Tree, home: string, keys: readonly string[], uid: number, gid: number): void {
  const ssh = `${home}/.ssh`;
  tree.mkdir(ssh);
  tree.chown(ssh, uid, gid);
  tree.chmod(ssh, 0o700);
  const file = `${ssh}/authorized_keys`;
  if (tree.lstat(file)?.isSymbolicLink()) throw new UserError(`${file} in the image is a symlink; kiln does not write through it`);
  tree.write(file, keys.map((k) => k.trim()).join('\n') + '\n', { mode: 0o600, uid, gid });
}
