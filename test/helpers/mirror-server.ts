/**
 * A tiny static HTTP server on 127.0.0.1 standing in for a mirror in tests.
 * Serves files under `rootDir`, answers Range requests with 206, and can
 * misbehave per path (see `Fault`). `faults` can be changed while it runs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface Fault {
  /** Answer 404. */
  notFound?: boolean;
  /** Never answer (the client has to time out). */
  hang?: boolean;
  /** Answer 500 to the first N requests for this path. */
  failFirst?: number;
  /** Send only the first K body bytes, then drop the connection... */
  truncateAfter?: number;
  /** ...on the first N requests (default 1; Infinity for always). */
  truncateTimes?: number;
  /** Serve bytes with every byte flipped (same length) on the first N requests (default: always). */
  corrupt?: boolean;
  corruptTimes?: number;
  /** Answer Range requests with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Send the body `chunkBytes` at a time, one chunk every `intervalMs`. */
  trickle?: { chunkBytes: number; intervalMs: number };
  /** Send the first K body bytes, then nothing more, keeping the connection open (a stalled mirror). */
  stallAfter?: number;
}

export interface RequestLog {
  path: string;
  range?: string;
  status: number;
}

export interface Mirror {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Request paths in arrival order. */
  requests: string[];
  /** The same, with Range header and answer status. */
  log: RequestLog[];
  faults: Record<string, Fault>;
  close(): Promise<void>;
}

export async function startMirror(rootDir: string, opts: { faults?: Record<string, Fault> } = {}): Promise<Mirror> {
  const faults: Record<string, Fault> = { ...opts.faults };
  const requests: string[] = [];
  const log: RequestLog[] = [];
  const counts = new Map<string, number>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = req.headers.range;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    requests.push(path);
    const entry: RequestLog = { path, range, status: 0 };
    log.push(entry);
    const fault = faults[path] ?? {};
    const answer = (status: number, headers: Record<string, string | number> = {}): void => {
      entry.status = status;
      res.writeHead(status, headers);
    };

    if (fault.notFound) return void (answer(404), res.end());
    if (fault.hang) return;
    if (fault.failFirst !== undefined && n <= fault.failFirst) return void (answer(500), res.end());
    const file = normalize(join(rootDir, path));
    if (!file.startsWith(normalize(rootDir))) return void (answer(403), res.end());
    let body: Buffer;
    let modified: Date;
    try {
      body = await readFile(file);
      modified = (await stat(file)).mtime;
    } catch {
      return void (answer(404), res.end());
    }
    // Conditional requests, as real mirrors answer them: Last-Modified, and 304 when unchanged since.
    const lastModified = modified.toUTCString();
    const since = req.headers['if-modified-since'];
    if (since && Math.floor(modified.getTime() / 1000) <= Math.floor(Date.parse(since) / 1000)) {
      return void (answer(304, { 'last-modified': lastModified }), res.end());
    }
    res.setHeader('last-modified', lastModified);
    if (fault.corrupt && n <= (fault.corruptTimes ?? Infinity)) body = Buffer.from(body.map((b) => b ^ 0xff));

    const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    let start = 0;
    let end = body.length; // exclusive
    if (match && !fault.ignoreRange) {
      start = Number(match[1]);
      end = match[2] ? Math.min(Number(match[2]) + 1, body.length) : body.length;
      if (start >= body.length) {
        return void (answer(416, { 'content-range': `bytes */${body.length}` }), res.end());
      }
      answer(206, { 'content-length': end - start, 'content-range': `bytes ${start}-${end - 1}/${body.length}`, 'accept-ranges': 'bytes' });
    } else {
      answer(200, { 'content-length': body.length, ...(fault.ignoreRange ? {} : { 'accept-ranges': 'bytes' }) });
    }
    let part = body.subarray(start, end);

    if (fault.truncateAfter !== undefined && n <= (fault.truncateTimes ?? 1)) {
      part = part.subarray(0, fault.truncateAfter);
      // Give the client a moment to take the bytes: a client may drop what it had
      // buffered but not yet handed on when the connection breaks.
      res.write(part, () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    if (fault.stallAfter !== undefined) {
      res.write(part.subarray(0, fault.stallAfter));
      return; // closed by the client, or by close()
    }
    if (fault.trickle) {
      const { chunkBytes, intervalMs } = fault.trickle;
      for (let off = 0; off < part.length && !res.destroyed; off += chunkBytes) {
        res.write(part.subarray(off, off + chunkBytes));
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
      res.end();
      return;
    }
    res.end(part);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    log,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nobody listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
