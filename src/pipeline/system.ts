/**
 * System settings every distribution shares: host name, /etc/hosts, the root
 * password. Written natively where a file edit is enough; a plain password is
 * hashed by the image's own chpasswd.
 */
import { readFile, writeFile, chmod, chown, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstallContext } from '../formats/types.ts';

export async function configureSystem(ctx: InstallContext): Promise<void> {
  const { root, config } = ctx;
  const hostname = config['system.hostname'];
  await writeFile(join(root, 'etc/hostname'), hostname + '\n');
  await writeFile(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`);
  const hash = config['system.root-password-hash'];
  const password = config['system.root-password'];
  if (hash) await setShadowPassword(root, 'root', hash);
  else if (password) await ctx.run(['chpasswd'], { input: `root:${password}\n`, source: 'root-password' });
}

/** Replaces the password field of a user in /etc/shadow, keeping owner and mode. */
export async function setShadowPassword(root: string, user: string, hash: string): Promise<void> {
  const path = join(root, 'etc/shadow');
  const before = await stat(path);
  const lines = (await readFile(path, 'utf8')).split('\n');
  const i = lines.findIndex((l) => l.startsWith(`${user}:`));
  if (i < 0) throw new Error(`no ${user} entry in /etc/shadow`);
  const fields = (lines[i] as string).split(':');
  fields[1] = hash;
  lines[i] = fields.join(':');
  await writeFile(path, lines.join('\n'));
  await chown(path, before.uid, before.gid);
  await chmod(path, before.mode & 0o7777);
}
