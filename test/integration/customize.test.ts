/**
 * Customization without scripts on a real Debian image, checked inside it
 * with its own tools (getent, id, pwck, grpck, systemctl, locale, stat).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageDir, integrationSkipReason, isRoot, kiln, TEST_USER } from '../helpers/kiln.ts';
import { skipOrFail } from '../helpers/host-tools.ts';
import { hostMirrorFor } from '../../src/catalog/index.ts';

const mirror = hostMirrorFor('debian');
const skip = skipOrFail(integrationSkipReason() ?? (mirror ? undefined : 'the host has no Debian apt source to use as mirror'));

const TOML = (mirrorUrl: string) => `[distribution]
name = "debian"
release = "bookworm"
architecture = "amd64"
mirror = "${mirrorUrl}"

[packages]
install = ["systemd", "locales", "openssh-server"]

[system]
hostname = "custom"
timezone = "Europe/Berlin"
locale = "de_DE.UTF-8"
keyboard = "de"
root-ssh-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnRoot root@example"]

[overlay]
skeleton = "skeleton.tar"
extra = "files"
owners = { "/home/pi" = "pi:pi", "/srv/data" = "svc:svc" }

[[group]]
name = "gpio"
system = true

[[user]]
name = "pi"
uid = 1001
groups = ["gpio", "sudo"]
comment = "Pi User"
password-hash = "$6$salt$abcdefghijklmnopqrstuv"
ssh-authorized-keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnPi pi@example"]

[[user]]
name = "svc"
system = true

[services]
enable = ["systemd-networkd.service"]
disable = ["ssh.service"]

[output]
format = ["directory"]
`;

describe('customization without scripts', { skip }, () => {
  let dir: string;
  let shell: (script: string) => Promise<string>;
  before(async () => {
    dir = imageDir(TOML(mirror as string));
    mkdirSync(join(dir, 'files/etc/kiln'), { recursive: true });
    mkdirSync(join(dir, 'files/home/pi'), { recursive: true });
    mkdirSync(join(dir, 'files/srv/data'), { recursive: true });
    writeFileSync(join(dir, 'files/etc/kiln/greeting'), 'hello\n');
    writeFileSync(join(dir, 'files/home/pi/notes.txt'), 'notes\n');
    writeFileSync(join(dir, 'files/srv/data/db'), 'db\n');
    // A skeleton tar with its own owner (uid 4242) and mode, in before any package.
    const skel = join(dir, 'skel-src');
    mkdirSync(join(skel, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
    writeFileSync(join(skel, 'etc/dpkg/dpkg.cfg.d/kiln-skeleton'), '# from the skeleton\n');
    const tar = spawnSync('tar', ['--owner=4242', '--group=4243', '--mode=640', '-cf', join(dir, 'skeleton.tar'), '-C', skel, 'etc/dpkg/dpkg.cfg.d/kiln-skeleton']);
    assert.equal(tar.status, 0, tar.stderr?.toString());
    if (isRoot) spawnSync('chown', ['-R', `${TEST_USER}:`, dir]);
    const r = await kiln(['build', '-C', dir]);
    assert.equal(r.code, 0, r.stderr);
    shell = async (script) => {
      const s = await kiln(['shell', '-C', dir, '--', '/bin/sh', '-c', script]);
      assert.equal(s.code, 0, s.stderr);
      return s.stdout;
    };
  });

  test('users and groups: ids, memberships, shadow, homes from /etc/skel, SSH keys; pwck and grpck agree', async () => {
    const out = await shell('getent passwd pi svc; id pi; getent group gpio; grep -E "^(pi|svc):" /etc/shadow; stat -c "%n %U:%G %a" /home/pi /home/pi/.bashrc /home/pi/.ssh /home/pi/.ssh/authorized_keys; cat /home/pi/.ssh/authorized_keys; pwck -r -q >/dev/null; echo pwck=$?; grpck -r >/dev/null; echo grpck=$?');
    assert.match(out, /^pi:x:1001:1001:Pi User:\/home\/pi:\/bin\/bash$/m);
    assert.match(out, /^svc:x:(9\d\d):\d+::\/nonexistent:\/usr\/sbin\/nologin$/m);
    assert.match(out, /^uid=1001\(pi\) gid=1001\(pi\) groups=1001\(pi\),27\(sudo\),\d+\(gpio\)$/m);
    assert.match(out, /^gpio:x:9\d\d:pi$/m);
    assert.match(out, /^pi:\$6\$salt\$abcdefghijklmnopqrstuv:\d+:0:99999:7:::$/m);
    assert.match(out, /^svc:!:\d+:/m, 'an account without a password is locked');
    assert.match(out, /^\/home\/pi pi:pi 700\n\/home\/pi\/\.bashrc pi:pi 644\n\/home\/pi\/\.ssh pi:pi 700\n\/home\/pi\/\.ssh\/authorized_keys pi:pi 600$/m);
    assert.match(out, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKilnPi pi@example$/m);
    assert.match(out, /^pwck=0$/m);
    assert.match(out, /^grpck=0$/m);
  });

  test('overlays: the skeleton tar keeps its owners, the directory gets root or overlay.owners', async () => {
    const out = await shell('stat -c "%n %u:%g %a" /etc/dpkg/dpkg.cfg.d/kiln-skeleton; stat -c "%n %U:%G %a" /etc/kiln/greeting /home/pi/notes.txt /srv/data /srv/data/db; cat /etc/kiln/greeting');
    assert.match(out, /^\/etc\/dpkg\/dpkg\.cfg\.d\/kiln-skeleton 4242:4243 640$/m);
    assert.match(out, /^\/etc\/kiln\/greeting root:root 644$/m);
    assert.match(out, /^\/home\/pi\/notes\.txt pi:pi 644$/m);
    assert.match(out, /^\/srv\/data svc:svc 755\n\/srv\/data\/db svc:svc 644$/m);
    assert.match(out, /^hello$/m);
  });

  test('root SSH key, time zone, locale, keyboard and services', async () => {
    const out = await shell('stat -c "%n %U %a" /root/.ssh/authorized_keys; readlink /etc/localtime; cat /etc/timezone /etc/default/locale /etc/vconsole.conf; locale -a; systemctl is-enabled systemd-networkd.service ssh.service; TZ=":/etc/localtime" date -d @0 +%Z');
    assert.match(out, /^\/root\/\.ssh\/authorized_keys root 600$/m);
    assert.match(out, /^\.\.\/usr\/share\/zoneinfo\/Europe\/Berlin\nEurope\/Berlin\nLANG=de_DE\.UTF-8\nKEYMAP=de$/m);
    assert.match(out, /^de_DE\.utf8$/m, 'the locale was generated');
    assert.match(out, /^enabled\ndisabled$/m);
    assert.match(out, /^CET$/m);
  });

  test('a mistake in a user table is one line and exit 2, before anything runs', async () => {
    const d = imageDir(`${TOML(mirror as string).replace(/\[overlay\][^[]*/, '')}\n[[user]]\nname = "x"\nuid = "many"\n`);
    const r = await kiln(['build', '-C', d, '--dry-run']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^kiln: error: \S*kiln\.toml:\d+: users\.accounts: item 3: uid: expected a whole number/m);
  });
});
