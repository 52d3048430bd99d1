/**
 * HTTP for mirrors: Node's built-in fetch, with retries (network errors, 5xx),
 * resume by Range, sha256 checked while streaming, and one-line `UserError`s.
 */
import { createHash, type Hash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { mapLimit } from '../util/concurrency.ts';
import { UserError } from '../util/errors.ts';
import { silent, type Emit } from '../util/events.ts';
import { normalizeSha256, type BlobStore, type TempBlob } from './cache.ts';
import { Attempt, MIRROR_HINT, BROKEN_MIRROR_HINT, Transient, checkUrl, discardBody, origin, retrying, throwForStatus, type HttpOptions } from './request.ts';

export type { DownloadLimits, HttpOptions } from './request.ts';

export interface DownloadItem {
  /** The same file on each mirror, tried in order. */
  urls: string[];
  sha256?: string;
  size?: number;
  /** What the user sees in progress and errors (a file or package name). */
  name: string;
}

export interface DownloadResult {
  name: string;
  /** The blob in the store. */
  path: string;
  sha256: string;
  size: number;
  cached: boolean;
  /** The URL it came from (absent when cached). */
  url?: string;
}

const PROGRESS_INTERVAL_MS = 100;


/**
 * Downloads one file into the store and returns its blob. With a known sha256
 * already in the store, returns at once (`cached: true`) without any request.
 */
export async function downloadToStore(store: BlobStore, item: DownloadItem, opts: HttpOptions = {}): Promise<DownloadResult> {
  const emit = opts.emit ?? silent;
  const expected = item.sha256 === undefined ? undefined : normalizeSha256(item.sha256);
  if (expected !== undefined && (await store.has(expected))) {
    const path = store.pathFor(expected);
    const size = item.size ?? (await stat(path)).size;
    emit({ kind: 'download-end', name: item.name, bytes: size, cached: true });
    return { name: item.name, path, sha256: expected, size, cached: true };
  }
  if (item.urls.length === 0) throw new UserError(`no mirror URL for ${item.name}`, MIRROR_HINT);
  item.urls.forEach(checkUrl);
  opts.signal?.throwIfAborted();

  emit({ kind: 'download-start', name: item.name, bytes: item.size });
  const temp = await store.createTemp();
  try {
    let firstError: unknown;
    for (const [i, url] of item.urls.entries()) {
      try {
        const { sha256, size } = await downloadFromMirror(temp, url, item, expected, opts);
        const path = await temp.commit(sha256);
        emit({ kind: 'download-end', name: item.name, bytes: size, cached: false });
        return { name: item.name, path, sha256, size, cached: false, url };
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (!(err instanceof UserError)) throw err;
        firstError ??= err;
        if (i + 1 < item.urls.length) {
          emit({ kind: 'log', level: 'warn', source: 'download', message: `${err.message}; trying the next mirror` });
          await temp.handle.truncate(0);
        }
      }
    }
    throw firstError; // the first mirror is the one the user configured first
  } finally {
    await temp.discard();
  }
}

/** Downloads `items` in parallel; the first hard failure aborts the rest and is thrown once they have stopped. */
export async function downloadAll(
  store: BlobStore,
  items: readonly DownloadItem[],
  opts: HttpOptions & { concurrency?: number } = {},
): Promise<DownloadResult[]> {
  const controller = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, controller.signal]) : controller.signal;
  const running = new Set<Promise<DownloadResult>>();
  let failure: { error: unknown } | undefined;
  try {
    return await mapLimit(items, opts.concurrency ?? 8, (item) => {
      const job = downloadToStore(store, item, { ...opts, signal });
      running.add(job);
      job.then(
        () => running.delete(job),
        (error: unknown) => {
          running.delete(job);
          if (failure === undefined && !opts.signal?.aborted) {
            failure = { error };
            controller.abort(error);
          }
        },
      );
      return job;
    });
  } catch (err) {
    await Promise.allSettled([...running]); // let the others remove their temporaries
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw failure ? failure.error : err;
  }
}

/** Fetches a small file (an index) into memory. A 404 is a `UserError`, or `undefined` with `missingOk`. */
export async function fetchBytes(url: string, opts?: HttpOptions & { name?: string; maxBytes?: number; missingOk?: false }): Promise<Buffer>;
export async function fetchBytes(url: string, opts: HttpOptions & { name?: string; maxBytes?: number; missingOk: true }): Promise<Buffer | undefined>;
export async function fetchBytes(
  url: string,
  opts: HttpOptions & { name?: string; maxBytes?: number; missingOk?: boolean } = {},
): Promise<Buffer | undefined> {
  const got = await fetchIfChanged(url, undefined, opts);
  return got.status === 'fetched' ? got.data : undefined;
}

/** What a server said about a file that changes in place (a pacman database): its validators. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type Fetched = { status: 'fetched'; data: Buffer; validators: Validators } | { status: 'unchanged' } | { status: 'missing' };

/**
 * Fetches a small file unless the server says the copy described by `known`
 * is still current (If-None-Match / If-Modified-Since: 304). A 404 is
 * `missing` with `missingOk`, else a `UserError`.
 */
export async function fetchIfChanged(
  url: string,
  known: Validators | undefined,
  opts: HttpOptions & { name?: string; maxBytes?: number; missingOk?: boolean } = {},
): Promise<Fetched> {
  checkUrl(url);
  const emit = opts.emit ?? silent;
  const name = opts.name ?? url;
  const maxBytes = opts.maxBytes ?? 1 << 30;
  const conditions: Record<string, string> = {};
  if (known?.etag) conditions['if-none-match'] = known.etag;
  if (known?.lastModified) conditions['if-modified-since'] = known.lastModified;
  return retrying(url, name, opts, () => false, async (attemptOpts): Promise<Fetched> => {
    const attempt = new Attempt(url, name, attemptOpts);
    try {
      const res = await attempt.fetch(conditions);
      if (res.status === 304 && known) {
        await discardBody(res);
        return { status: 'unchanged' };
      }
      if (opts.missingOk && (res.status === 404 || res.status === 410)) {
        await discardBody(res);
        return { status: 'missing' };
      }
      if (res.status !== 200) await throwForStatus(res, url);
      const length = Number(res.headers.get('content-length') ?? NaN);
      emit({ kind: 'download-start', name, bytes: Number.isFinite(length) ? length : undefined });
      const progress = new Progress(emit, name, Number.isFinite(length) ? length : undefined);
      const chunks: Uint8Array[] = [];
      let done = 0;
      await attempt.readBody(res, async (chunk) => {
        done += chunk.length;
        if (done > maxBytes) throw new UserError(`${url} is larger than ${maxBytes} bytes`, BROKEN_MIRROR_HINT);
        chunks.push(chunk);
        progress.update(done);
        return true;
      });
      emit({ kind: 'download-end', name, bytes: done, cached: false });
      const validators: Validators = { etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined };
      return { status: 'fetched', data: Buffer.concat(chunks), validators };
    } finally {
      attempt.dispose();
    }
  });
}

async function downloadFromMirror(
  temp: TempBlob,
  url: string,
  item: DownloadItem,
  expected: string | undefined,
  opts: HttpOptions,
): Promise<{ sha256: string; size: number }> {
  const emit = opts.emit ?? silent;
  const progress = new Progress(emit, item.name, item.size);
  let written = 0;
  let hash: Hash = createHash('sha256');
  let retriedCorrupt = false;
  let startOfAttempt = 0;
  const restart = async (): Promise<void> => {
    written = 0;
    hash = createHash('sha256');
    await temp.handle.truncate(0);
  };

  /** One request, appending to the temporary file; false when the answer could not be used and we start over. */
  const requestOnce = async (attemptOpts: HttpOptions): Promise<boolean> => {
    const attempt = new Attempt(url, item.name, attemptOpts);
    try {
      const res = await attempt.fetch(written > 0 ? { range: `bytes=${written}-` } : {});
      if (res.status === 206) {
        if (contentRangeStart(res.headers.get('content-range')) !== written) {
          if (written === 0) await throwForStatus(res, url); // a part we did not ask for
          await discardBody(res);
          await restart();
          return false;
        }
      } else if (written > 0 && res.status === 416) {
        await discardBody(res);
        if (item.size === written) return true; // we already had all of it
        await restart();
        return false;
      } else if (res.status === 200) {
        if (written > 0) await restart(); // the server ignored Range: take the full answer
      } else {
        await throwForStatus(res, url);
      }
      await attempt.readBody(res, async (chunk) => {
        hash.update(chunk);
        await temp.write(chunk, written);
        written += chunk.length;
        progress.update(written);
        return item.size === undefined || written <= item.size; // too long: stop, it is corrupt
      });
      return true;
    } finally {
      attempt.dispose();
    }
  };

  return retrying(url, item.name, opts, () => written > startOfAttempt, async (attemptOpts) => {
    startOfAttempt = written;
    for (;;) {
      if (!(await requestOnce(attemptOpts))) continue;
      if (item.size !== undefined && written < item.size) {
        throw new Transient(new UserError(`mirror ${origin(url)} sent only ${written} of ${item.size} bytes of ${url}`, BROKEN_MIRROR_HINT));
      }
      const actual = hash.copy().digest('hex');
      const sizeOk = item.size === undefined || written === item.size;
      if ((expected === undefined || actual === expected) && sizeOk) return { sha256: actual, size: written };
      const what = expected !== undefined
        ? `expected sha256 ${expected}, got ${actual}`
        : `expected ${item.size} bytes, got more`;
      if (retriedCorrupt) {
        throw new UserError(`mirror served a corrupt file: ${item.name} from ${url}: ${what}`, BROKEN_MIRROR_HINT);
      }
      retriedCorrupt = true;
      emit({ kind: 'log', level: 'warn', source: 'download', message: `${item.name} from ${url} is corrupt (${what}); downloading it again` });
      await restart();
    }
  });
}

function contentRangeStart(header: string | null): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header?.trim() ?? '');
  return match ? Number(match[1]) : undefined;
}

/** download-progress events, at most one per PROGRESS_INTERVAL_MS. */
class Progress {
  #last = 0;
  constructor(
    private readonly emit: Emit,
    private readonly name: string,
    private readonly total: number | undefined,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (now - this.#last < PROGRESS_INTERVAL_MS && done !== this.total) return;
    this.#last = now;
    this.emit({ kind: 'download-progress', name: this.name, done, total: this.total });
  }
}
