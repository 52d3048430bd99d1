/**
 * Value kinds for names and addresses that end up in paths, in the image's
 * account files or in URLs: a mistake in one of them must stop the build at
 * the config check, not in the middle of it (a hook name with "../" would
 * write outside its directory, a host name with a newline would add a line
 * to /etc/hosts). Each check is also exported for the code that uses the
 * value, as a second guard.
 */
import type { Kind } from './kinds.ts';

/** A kind for a non-empty string that `problem` accepts. */
const checked = (describe: string, problem: (value: string) => string | undefined): Kind<string> => ({
  describe,
  parse: (v) => {
    if (typeof v !== 'string' || v.length === 0) return { error: `expected ${describe}, got ${JSON.stringify(v)}` };
    const wrong = problem(v);
    return wrong ? { error: wrong } : { value: v };
  },
});

/** Why `name` is not one file name in a directory (no "/", not "." or "..", no NUL), or undefined. */
export function fileNameProblem(name: string): string | undefined {
  const shown = JSON.stringify(name);
  if (name === '') return 'a file name cannot be empty';
  if (name.includes('\0')) return `${shown} is not a file name: it contains a NUL character`;
  if (name.includes('/')) return `${shown} is not a file name: it contains "/"`;
  if (name === '.' || name === '..') return `${shown} is not a file name: it names a directory`;
  return undefined;
}

export const fileName = (describe = 'a file name'): Kind<string> => checked(describe, fileNameProblem);

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Why `name` is not a host name (RFC 1123: labels of letters, digits and inner hyphens, up to 63 each, 253 in all), or undefined. */
export function hostnameProblem(name: string): string | undefined {
  const rule = 'labels of letters, digits and hyphens (not at either end), up to 63 characters each, joined by dots, at most 253 in all';
  if (name.length > 253) return `a host name has at most 253 characters, this one ${name.length}`;
  const bad = name.split('.').find((label) => label.length > 63 || !HOST_LABEL.test(label));
  return bad === undefined ? undefined : `${JSON.stringify(name)} is not a host name: ${rule}`;
}

export const hostname = (describe = 'a host name'): Kind<string> => checked(describe, hostnameProblem);

/** useradd's default NAME_REGEX, and its limit of 32 characters. */
const USER_NAME = /^[a-z_][a-z0-9_-]*[$]?$/;

/** Why `name` is not a user or group name as useradd and groupadd accept by default, or undefined. */
export function userNameProblem(name: string): string | undefined {
  if (name.length > 32) return `${JSON.stringify(name)} is too long for a user or group name (at most 32 characters)`;
  if (USER_NAME.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a user or group name: lower-case letters, digits, "_" and "-", starting with a letter or "_", and perhaps a final "$"`;
}

export const userName = (describe = 'a user name'): Kind<string> => checked(describe, userNameProblem);

/** A user or group name, or a number. */
export const userOrId = (describe: string): Kind<string> => checked(describe, (v) => (/^\d+$/.test(v) ? undefined : userNameProblem(v)));

/** A uid or gid for a new account: 0 is root's, which every image already has. */
export const accountId = (what: 'uid' | 'gid'): Kind<number> => {
  const max = 2 ** 31 - 2;
  const owner = what === 'uid' ? 'the root user' : 'the root group';
  return {
    describe: `a ${what} from 1 to ${max}`,
    parse: (v) => {
      if (v === 0) return { error: `${what} 0 is ${owner}'s, which the image already has; leave ${what} unset or choose another` };
      return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max ? { value: v } : { error: `expected a whole number from 1 to ${max}, got ${JSON.stringify(v)}` };
    },
  };
};

/** The placeholders a pacman Server pattern may hold. */
const PATTERN_PLACEHOLDERS = ['$repo', '$arch'];

/** Why `text` is not a mirror URL kiln can fetch from (http or https), or undefined. */
export function urlProblem(text: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `${JSON.stringify(text)} is not a URL; write it whole, e.g. http://HOST/PATH`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${JSON.stringify(text)}: kiln fetches from http and https mirrors, not ${parsed.protocol.replace(/:$/, '')}`;
  return undefined;
}

/**
 * Why `text` is not a URL pattern as pacman's Server lines are, or undefined: only $repo and $arch
 * are filled in; a mirror shared by several repositories (`needsRepo`) must have $repo.
 */
export function urlPatternProblem(text: string, needsRepo = false): string | undefined {
  const unknown = [...text.matchAll(/\$[A-Za-z_]\w*/g)].map((m) => m[0]).find((p) => !PATTERN_PLACEHOLDERS.includes(p));
  if (unknown) return `${JSON.stringify(text)}: unknown placeholder ${unknown}; a mirror pattern has $repo and $arch`;
  if (needsRepo && !text.includes('$repo')) return `${JSON.stringify(text)}: a mirror for several repositories needs $repo (each has a directory of its own), and $arch where the mirror splits by architecture`;
  return urlProblem(text);
}

export const url = (describe = 'a mirror URL'): Kind<string> => checked(describe, urlProblem);
/** A URL pattern for one repository: $arch is filled in, and $repo with the repository's name. */
export const urlPattern = (describe = 'a URL pattern ($repo, $arch)'): Kind<string> => checked(describe, (v) => urlPatternProblem(v));
