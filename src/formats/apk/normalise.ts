/**
 * What finalize normalises in an Alpine tree, before the common items
 * (src/normalise/common.ts): the packages and indexes a hook downloaded
 * with `apk add` inside the image. kiln's own install writes apk's
 * database from the plan, with no dates of the build, so it needs nothing.
 */
import type { NormaliseItem } from '../../normalise/types.ts';
import { emptyDirectory } from '../../normalise/paths.ts';

const APK_CACHE: NormaliseItem = {
  name: 'apk-cache',
  paths: ['/var/cache/apk/*'],
  why: 'the indexes and packages a hook downloaded with apk are dated by the mirror, large and stale on the first boot; the directory stays',
  run: (tree) => {
    const removed = emptyDirectory(tree, 'var/cache/apk');
    return removed ? `removed ${removed} cached indexes and packages` : undefined;
  },
};

export const APK_NORMALISATION: readonly NormaliseItem[] = [APK_CACHE];
