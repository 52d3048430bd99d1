/**
 * One HTTP request to a mirror and what can go wrong with it: an idle timer
 * and a minimum transfer rate, linked to the caller's AbortSignal; network
 * errors and statuses turned into one-line `UserError`s; and a retry loop
 * with backoff for the transient ones, bounded in time as a whole.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../util/errors.ts';
import { silent, type Emit } from '../util/events.ts';

/** How slow and how long a download may be (kiln's build.download-* settings, as plain values). */
export interface DownloadLimits {
  /**
   * An attempt is given up when fewer than this many bytes per second arrive
   * over a window of `rateWindowMs` (default 1024; 0: no minimum). It is not
   * retried on the same mirror: the next mirror is tried.
   */
  minBytesPerSecond?: number;
  /** The window for `minBytesPerSecond` (default 30 s). */
  rateWindowMs?: number;
  /** Every attempt at one file on one mirror, retries included, together take at most this long (default 30 min). */
  timeoutMs?: number;
}

export interface HttpOptions extends DownloadLimits {
  emit?: Emit;
  /** Cancels everything (Ctrl-C); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Requests per mirror for network errors and 5xx answers (default 3). */
  attempts?: number;
  /** First backoff delay; it doubles each time (default 500 ms). */
  retryDelayMs?: number;
  /** An attempt fails when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
}

export const DEFAULT_MIN_BYTES_PER_SECOND = 1024;
export const DEFAULT_RATE_WINDOW_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30 * 60_000;

export const MIRROR_HINT = 'check the "mirror" setting and the network (or proxy) of this machine';
export const BROKEN_MIRROR_HINT = 'the mirror may be out of sync or broken; try again later or use another mirror';
export const SLOW_MIRROR_HINT = 'use a faster mirror, or relax build.download-min-rate, build.download-min-rate-window and build.download-timeout';

/** A failure worth another try; `error` is what the user sees if the tries run out. */
export class Transient extends Error {
  constructor(readonly error: UserError) {
    super(error.message, { cause: error });
  }
}

/**
 * Runs `fn` again after a `Transient` failure, with backoff. A try that made
 * progress does not count, but there are at most 3 × `attempts` tries in all
 * (for a mirror that sends a little and stalls each time), and all of them
 * together end after `timeoutMs`. `fn` gets the options its requests use: the
 * caller's, with that deadline in their signal.
 */
export async function retrying<T>(
  url: string,
  name: string,
  opts: HttpOptions,
  progressed: () => boolean,
  fn: (attemptOpts: HttpOptions) => Promise<T>,
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  const baseDelay = opts.retryDelayMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort(new UserError(`download of ${name} from mirror ${origin(url)} took longer than ${formatSeconds(timeoutMs)} in all (${url})`, SLOW_MIRROR_HINT));
  }, timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  const attemptOpts: HttpOptions = { ...opts, signal };
  let failures = 0;
  let total = 0;
  try {
    for (;;) {
      try {
        return await fn(attemptOpts);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (!(err instanceof Transient)) throw err;
        total++;
        failures = progressed() ? 1 : failures + 1;
        if (failures >= attempts || total >= attempts * 3) throw err.error;
        const delay = baseDelay * 2 ** (failures - 1);
        (opts.emit ?? silent)({ kind: 'log', level: 'warn', source: 'download', message: `${err.message}; retrying ${url} in ${delay} ms` });
        try {
          await sleep(delay, undefined, { signal });
        } catch (sleepErr) {
          throw signal.aborted ? signal.reason : sleepErr;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** One request: its own idle timer and rate check, linked to the caller's signal, and error classification. */
export class Attempt {
  readonly #timeout = new AbortController();
  readonly #signal: AbortSignal;
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;
  #tooSlow = false;

  constructor(
    private readonly url: string,
    /** The file, as the user knows it (a package name). */
    private readonly name: string,
    private readonly opts: HttpOptions,
  ) {
    this.#idleMs = opts.idleTimeoutMs ?? 30_000;
    this.#signal = opts.signal ? AbortSignal.any([opts.signal, this.#timeout.signal]) : this.#timeout.signal;
    this.kick();
  }

  async fetch(headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(this.url, { headers: { 'accept-encoding': 'identity', ...headers }, signal: this.#signal });
    } catch (err) {
      throw this.classify(err, false);
    }
  }

  /** Feeds the body to `onChunk` until it ends or `onChunk` returns false. */
  async readBody(res: Response, onChunk: (chunk: Uint8Array) => Promise<boolean>): Promise<void> {
    if (!res.body) return;
    let local: { error: unknown } | undefined; // from onChunk (disk full, too large): not the network's fault
    const reader = res.body.getReader();
    // Each read races the abort signal: undici's body stream has been seen to neither end nor
    // fail after an abort (or after the last byte), which would leave the download waiting forever.
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(this.#signal.reason ?? new Error('aborted'));
      if (this.#signal.aborted) fail();
      else this.#signal.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => {});
    // The minimum rate, over consecutive windows from the first byte of the body on (waiting for the
    // answer itself is the idle timer's business).
    const minRate = this.opts.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
    const windowMs = this.opts.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
    let inWindow = 0;
    const rateCheck =
      minRate > 0
        ? setInterval(() => {
            if (inWindow < (minRate * windowMs) / 1000) {
              this.#tooSlow = true;
              this.#timeout.abort(new Error('too slow'));
            }
            inWindow = 0;
          }, windowMs)
        : undefined;
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) break;
        inWindow += value.length;
        this.kick();
        try {
          if (!(await onChunk(value))) break;
        } catch (error) {
          local = { error };
          break;
        }
      }
    } catch (err) {
      throw this.classify(err, true);
    } finally {
      clearInterval(rateCheck);
      reader.cancel().catch(() => {});
    }
    if (local) throw local.error;
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }

  private kick(): void {
    clearTimeout(this.#timer);
    // Kept referenced: while a request waits, its timer holds the event loop open (a socket undici
    // has unreferenced must not let the process end in the middle of a download); dispose() clears it.
    this.#timer = setTimeout(() => this.#timeout.abort(new Error('idle timeout')), this.#idleMs);
  }

  private classify(err: unknown, midBody: boolean): unknown {
    if (this.opts.signal?.aborted) return this.opts.signal.reason;
    if (err instanceof UserError || err instanceof Transient) return err;
    if (this.#tooSlow) {
      const rate = this.opts.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
      const window = this.opts.rateWindowMs ?? DEFAULT_RATE_WINDOW_MS;
      return new UserError(
        `mirror ${origin(this.url)} is too slow for ${this.name}: slower than ${formatRate(rate)} for ${formatSeconds(window)} (${this.url})`,
        SLOW_MIRROR_HINT,
        { cause: err },
      );
    }
    const where = midBody ? `lost the connection to mirror ${origin(this.url)} during ${this.url}` : `cannot reach mirror ${origin(this.url)}`;
    if (this.#timeout.signal.aborted) {
      return new Transient(new UserError(`${where}: timed out (nothing received for ${this.#idleMs / 1000} s)`, MIRROR_HINT, { cause: err }));
    }
    const code = errorCode(err);
    if (code !== undefined && /CERT|TLS|SSL/.test(code)) {
      return new UserError(`TLS error talking to mirror ${origin(this.url)}: ${code}`, MIRROR_HINT, { cause: err });
    }
    if (code !== undefined || err instanceof TypeError) {
      const reason = code !== undefined ? (NETWORK_REASONS[code] ?? code) : (err as Error).message;
      return new Transient(new UserError(`${where}: ${reason}`, MIRROR_HINT, { cause: err }));
    }
    return err; // a local problem (disk full, a bug): not the mirror's fault
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
  UND_ERR_BODY_TIMEOUT: 'timed out waiting for data',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed by the server',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** The first `code` in an error's cause chain (undici wraps socket errors in `TypeError: fetch failed`). */
function errorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'ABORT_ERR') return code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const found = errorCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return errorCode((err as { cause?: unknown }).cause, depth + 1);
}

export async function throwForStatus(res: Response, url: string): Promise<never> {
  await discardBody(res);
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  if (res.status === 404 || res.status === 410) {
    throw new UserError(`not found on the mirror: ${url} (${status})`, `${BROKEN_MIRROR_HINT}; also ${MIRROR_HINT}`);
  }
  const error = new UserError(`mirror ${origin(url)} answered ${status} for ${url}`, BROKEN_MIRROR_HINT);
  if (res.status >= 500 || res.status === 408 || res.status === 429) throw new Transient(error);
  throw error;
}

export async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

export function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`not a valid mirror URL: ${url}`, MIRROR_HINT);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(`mirror URL must be http or https: ${url}`, MIRROR_HINT);
  }
}

/** 1 KiB/s, 100 B/s, 2.5 MiB/s */
function formatRate(bytesPerSecond: number): string {
  const units: [number, string][] = [[1024 ** 2, 'MiB'], [1024, 'KiB']];
  for (const [size, unit] of units) if (bytesPerSecond >= size) return `${+(bytesPerSecond / size).toFixed(1)} ${unit}/s`;
  return `${bytesPerSecond} B/s`;
}

/** 30 s, 0.5 s, 30 min */
function formatSeconds(ms: number): string {
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${+(ms / 1000).toFixed(1)} s`;
}

export function origin(url: string): string {
  return new URL(url).origin;
}
