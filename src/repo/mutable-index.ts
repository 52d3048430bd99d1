/**
 * A signed index that changes in place on the mirror (pacman's REPO.db,
 * apk's APKINDEX.tar.gz), downloaded only when the mirror says it changed
 * (If-None-Match / If-Modified-Since, as `pacman -Sy` asks): the last copy
 * is a blob in the download store, its validators a small JSON record under
 * the memo directory. The caller checks the signature of what it gets, the
 * same whether it came fresh or from the store.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './cache.ts';
import { fetchIfChanged, type DownloadLimits, type Validators } from './http.ts';
import { writeJsonAtomic } from './memo.ts';
import type { HttpOptions } from './request.ts';
import { readVerified } from './verified-read.ts';

export interface MutableIndexRequest {
  url: string;
  /** Names the file in progress and errors, e.g. `core.db`. */
  name: string;
  /** The directory of the validator records under the memo directory, one per kind of index (e.g. `pacman-db`). */
  recordKind: string;
}

export interface MutableIndexContext extends Pick<HttpOptions, 'emit' | 'signal'> {
  store: BlobStore;
  memoDir: string;
  limits?: DownloadLimits;
}

interface IndexRecord {
  sha256: string;
  validators: Validators;
}

/** The index's bytes; undefined when the mirror has no such file (404). */
export async function fetchMutableIndex(ctx: MutableIndexContext, req: MutableIndexRequest): Promise<Buffer | undefined> {
  const record = join(ctx.memoDir, req.recordKind, `${createHash('sha256').update(req.url).digest('hex')}.json`);
  const known = await readFile(record, 'utf8').then((t) => JSON.parse(t) as IndexRecord, () => undefined);
  const cached = known && (await ctx.store.has(known.sha256)) ? known : undefined;
  const got = await fetchIfChanged(req.url, cached?.validators, { ...ctx.limits, emit: ctx.emit, signal: ctx.signal, name: req.name, missingOk: true });
  if (got.status === 'missing') return undefined;
  if (got.status === 'unchanged') return readVerified(ctx.store, { urls: [req.url], sha256: (cached as IndexRecord).sha256, name: req.name }, { emit: ctx.emit, signal: ctx.signal });
  if (got.validators.etag || got.validators.lastModified) {
    const { sha256 } = await ctx.store.putBytes(got.data);
    await writeJsonAtomic(record, { sha256, validators: got.validators } satisfies IndexRecord).catch(() => undefined);
  }
  return got.data;
}
