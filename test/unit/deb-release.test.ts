import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReleaseName, parseRelease } from '../../src/formats/deb/release.ts';
import { checkIndexFreshness, MAX_FUTURE_SECONDS } from '../../src/formats/freshness.ts';
import { UserError } from '../../src/util/errors.ts';

const SOURCE = 'http://127.0.0.1:1/dists/bookworm/InRelease';

function release(fields: string): string {
  return `Origin: Debian\n${fields}Architectures: amd64\nComponents: main\nSHA256:\n 0a1b 12 main/binary-amd64/Packages\n`;
}

const NOW = Date.parse('2026-06-01T00:00:00Z') / 1000;
const ON = { now: NOW, checkValidUntil: true, checkDate: true };

test('Valid-Until is read as seconds since the epoch; an unreadable one is refused', () => {
  const r = parseRelease(release('Date: Sat, 10 Jun 2023 08:00:00 UTC\nValid-Until: Sat, 17 Jun 2023 08:00:00 UTC\n'), SOURCE);
  assert.equal(r.date, Date.parse('2023-06-10T08:00:00Z') / 1000);
  assert.equal(r.validUntil, Date.parse('2023-06-17T08:00:00Z') / 1000);
  assert.equal(parseRelease(release('Date: Sat, 10 Jun 2023 08:00:00 UTC\n'), SOURCE).validUntil, undefined);
  assert.throws(() => parseRelease(release('Valid-Until: someday\n'), SOURCE), /unreadable Valid-Until date "someday"/);
});

test('an expired index is refused with its date and the setting that allows it', () => {
  const validUntil = Date.parse('2024-05-20T12:00:00Z') / 1000;
  assert.throws(
    () => checkIndexFreshness({ source: SOURCE, date: validUntil - 7 * 86400, validUntil }, ON),
    (err: unknown) =>
      err instanceof UserError &&
      err.message === `${SOURCE} expired on 2024-05-20 12:00:00 UTC (Valid-Until, 2 years ago): the mirror is out of date or replays an old release` &&
      /distribution\.check-valid-until = false/.test(err.hint ?? ''),
  );
});

test('an index still valid, or without Valid-Until, is accepted without a word', () => {
  assert.deepEqual(checkIndexFreshness({ source: SOURCE, date: NOW - 86400, validUntil: NOW + 86400 }, ON), []);
  assert.deepEqual(checkIndexFreshness({ source: SOURCE, date: NOW - 86400 }, ON), []);
});

test('check-valid-until = false accepts an expired index, with a warning, and warns even when it is not expired', () => {
  const off = { ...ON, checkValidUntil: false };
  const [expired, ...rest] = checkIndexFreshness({ source: SOURCE, date: NOW - 800 * 86400, validUntil: NOW - 790 * 86400 }, off);
  assert.deepEqual(rest, []);
  assert.match(expired ?? '', /expired on .* accepted because distribution\.check-valid-until = false$/);
  assert.match(checkIndexFreshness({ source: SOURCE, date: NOW }, off)[0] ?? '', /Valid-Until checks are OFF/);
  assert.match(checkIndexFreshness({ source: SOURCE, date: NOW, validUntil: NOW + 60 }, off)[0] ?? '', /Valid-Until checks are OFF/);
});

test('an index from the future is refused beyond apt\'s 10 s; check-date = false allows it and the expired one', () => {
  assert.deepEqual(checkIndexFreshness({ source: SOURCE, date: NOW + MAX_FUTURE_SECONDS }, ON), []);
  assert.throws(
    () => checkIndexFreshness({ source: SOURCE, date: NOW + 3 * 86400 }, ON),
    (err: unknown) => err instanceof UserError && /is not valid yet: dated .*, 3 days ahead of this machine's clock$/.test(err.message) && /distribution\.check-date = false/.test(err.hint ?? ''),
  );
  const warnings = checkIndexFreshness({ source: SOURCE, date: NOW + 3 * 86400, validUntil: NOW - 86400 }, { ...ON, checkDate: false });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /date checks are OFF \(distribution\.check-date = false\)/);
});

test('the release asked for must be the Suite or the Codename', () => {
  const r = parseRelease(release('Suite: stable\nCodename: bookworm\n'), SOURCE);
  checkReleaseName(r, 'bookworm', SOURCE);
  checkReleaseName(r, 'stable', SOURCE);
  assert.throws(
    () => checkReleaseName(parseRelease(release('Suite: testing\nCodename: trixie\n'), SOURCE), 'bookworm', SOURCE),
    (err: unknown) =>
      err instanceof UserError && err.message === `${SOURCE} is not the release asked for: distribution.release is "bookworm", the Release says Suite: testing, Codename: trixie`,
  );
  checkReleaseName(parseRelease(release(''), SOURCE), 'bookworm', SOURCE); // names neither: taken, as apt does
});
