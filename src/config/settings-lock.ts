/**
 * The lockfile settings ([lock]): whether `kiln build` installs kiln.lock's
 * package set, and where versions the mirror no longer has are fetched
 * from. They change where packages come from, never what is built. Spread
 * into SETTINGS.
 */
import { boolean, string } from './kinds.ts';
import { setting } from './setting.ts';

export const LOCK_SETTINGS = {
  'lock.use': setting({
    kind: boolean(),
    help: 'kiln build installs exactly the package set of kiln.lock (beside kiln.toml) when there is one; false (kiln build --no-lock): resolve afresh and ignore it',
    default: true,
  }),
  'lock.snapshot-mirror': setting({
    kind: string('a URL pattern'),
    help: "Where a locked version is fetched from when the mirror no longer has it: a dated archive, with the lock's date as %Y %m %d %H %M %S (UTC) and, for pacman, $repo and $arch (Alpine: $release, $repo and $arch), e.g. https://snapshot.example/archive/debian/%Y%m%dT%H%M%SZ or https://archive.example/repos/%Y/%m/%d/$repo/os/$arch; empty: none",
    default: '',
  }),
} as const;
