/**
 * One HTTP request to a mirror and what can go wrong with it: an idle timer
 * linked to the caller's AbortSignal, network errors and statuses turned into
 * one-line `UserError`s, and a retry loop with backoff for the transient ones.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../util/errors.ts';
import { silent, type Emit } from '../util/events.ts';

export interface HttpOptions {
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

export const MIRROR_HINT = 'check the "mirror" setting and the network (or proxy) of this machine';
export const BROKEN_MIRROR_HINT = 'the mirror may be out of sync or broken; try again later or use another mirror';

/** A failure worth another try; `error` is what the user sees if the tries run out. */
export class Transient extends Error {
  constructor(readonly error: UserError) {
    super(error.message, { cause: error });
  }
}

/**
 * Runs `fn` again after a `Transient` failure, with backoff. A try that made
 * progress does not count, but there are at most 3 × `attempts` tries in all
 * (for a mirror that sends a little and stalls each time).
 */
export async function retrying<T>(url: string, opts: HttpOptions, progressed: () => boolean, fn: () => Promise<T>): Promise<T> {
  const attempts = opts.attempts ?? 3;
  const baseDelay = opts.retryDelayMs ?? 500;
  let failures = 0;
  let total = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Transient)) throw err;
      total++;
      failures = progressed() ? 1 : failures + 1;
      if (failures >= attempts || total >= attempts * 3) throw err.error;
      const delay = baseDelay * 2 ** (failures - 1);
      (opts.emit ?? silent)({ kind: 'log', level: 'warn', source: 'download', message: `${err.message}; retrying ${url} in ${delay} ms` });
      try {
        await sleep(delay, undefined, { signal: opts.signal });
      } catch (sleepErr) {
        throw opts.signal?.aborted ? opts.signal.reason : sleepErr;
      }
    }
  }
}

/** One request: its own idle timer, linked to the caller's signal, and error classification. */
export class Attempt {
  readonly #timeout = new AbortController();
  readonly #signal: AbortSignal;
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
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
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) break;
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

export function origin(url: string): string {
  return new URL(url).origin;
}
