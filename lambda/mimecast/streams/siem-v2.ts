/**
 * `siem` on API 2.0: `GET /siem/v1/batch/events/cg` lists batch files (pre-signed URLs of gzip NDJSON), one
 * event type per listing as every known client does, paged by `@nextPage`. `siem-ci`: the same protocol on
 * `GET /siem/v1/batch/events/ci` (Cloud Integrated) with its own event types (`SIEM_V2_LISTINGS`).
 *
 * Cursor:
 * ```
 * {
 *   "since": ISO,                          // collection start: older events are dropped
 *   "pages": { "<type>": string | null },  // last @nextPage per type (null: not started)
 *   "pending": ["<type>", ...],            // types still to list in this round, current first
 *   "seen": { "<type>": [key, ...] },      // the type's files read most recently, oldest first
 *   "unadvanced": ["<type>", ...]          // types whose last listing came without an @nextPage
 * }
 * ```
 * The first listing of a type sends `dateRangeStartsAt`/`dateRangeEndsAt` (date-only, start clamped to
 * the 7-day retention); later ones send `type` and `nextPage`. Dates only seed a type: once it has an
 * `@nextPage` it is never listed by dates again (they have whole-day resolution, so a dated listing
 * repeats the whole day). A listing without `@nextPage` keeps the previous token; a type that never got
 * one (its first, caught-up listing came without) is listed by dates again, and its files already read
 * are dropped by `seen`. A type added to the settings later starts with a dated listing from `since`.
 *
 * Listings repeat file URLs, within a page and across pages ("padded out" to the page size, each copy
 * freshly signed). A file is read once per listing chain: `seen` keeps a short hash of the URL's host
 * and path (no query) of the last `seenFilesPerType` files read per type (twice the page size, at most
 * 1000); a listed file found there, or earlier on the same page, is skipped. A file repeated after more
 * newer files than that is read again; its events keep their ids, so the repeat is harmless downstream.
 * One fetchPage lists one page of the first pending type and streams its new files. A type leaves the
 * round when Mimecast says `isCaughtUp` (or the page is empty, or has no `@nextPage`); when no type is
 * pending the stream is caught up and the next round starts with every type. `@nextPage` is kept when
 * caught up (Mimecast returns one for later polls). A page that is not caught up but hands back the
 * `nextPage` it was asked with, or lists no file not read before, is paging that does not advance:
 * PagingStalledError, never asked again in the same tick. The one exception is an `unadvanced` type: its
 * next listing (the kept token, or dates) asks again for the page last read, which may hold nothing new.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { RecordJson } from '../../core/envelope';
import { OccurrenceIds } from '../../core/occurrences';
import type { CallBudget, Cursor, Page, PageEnd, SourceRecord } from '../../core/ports';
import { TransientError } from '../../errors';
import { isSecureOrLoopback } from '../../url-rules';
import { type CallContext, excerpt, pagingStalled, protocolError } from '../classify';
import { MAX_SEEN_FILES_PER_TYPE, SIEM_V2_MAX_LOOKBACK_DAYS } from '../constants';
import { DecodeError } from '../decode/errors';
import { gunzip } from '../decode/gzip';
import { NdjsonDecoder } from '../decode/lines';
import { decodeRecords, Queue } from '../decode/pump';
import { SIEM_CI_BATCH_PATH, SIEM_CI_PERMISSION, SIEM_PERMISSION, SIEM_V2_BATCH_PATH } from '../endpoints';
import { apiUrl } from '../hosts';
import { formatDateOnly, parseMimecastTime, toIsoUtc } from '../time';
import { bodyChunks, FileUrlExpiredError, type HttpResponse, readJson } from '../transport';
import type { MimecastStreamSource } from '../types';
import { callContext, decodingError, IsoTime, parseCursor, type SourceDeps, throwOnFailures } from './common';

const SiemV2Cursor = z.object({
  since: IsoTime,
  pages: z.record(z.string(), z.string().min(1).nullable()),
  pending: z.array(z.string()),
  // Absent in cursors stored before repeats were dropped.
  seen: z.record(z.string(), z.array(z.string())).optional(),
  unadvanced: z.array(z.string()).optional(),
});

const Listing = z.looseObject({
  value: z.array(
    z.looseObject({ url: z.string().min(1), size: z.number().optional(), expiry: z.string().optional() }),
  ),
  '@nextPage': z.string().nullish(),
  isCaughtUp: z.boolean().optional(),
});
type Listing = z.infer<typeof Listing>;
type BatchFile = Listing['value'][number];

const DAY_MS = 86_400_000;

/** What differs between the batch-file streams: the listing path, the permission, the event types. */
export interface SiemV2Listing {
  stream: 'siem' | 'siem-ci';
  path: string;
  permission: string;
  types(settings: SourceDeps['settings']): readonly string[];
}

export const SIEM_V2_LISTINGS: Record<SiemV2Listing['stream'], SiemV2Listing> = {
  siem: {
    stream: 'siem',
    path: SIEM_V2_BATCH_PATH,
    permission: SIEM_PERMISSION.v2,
    types: (settings) => settings.siemTypes,
  },
  'siem-ci': {
    stream: 'siem-ci',
    path: SIEM_CI_BATCH_PATH,
    permission: SIEM_CI_PERMISSION,
    types: (settings) => settings.siemCiTypes,
  },
};

export class SiemV2Source implements MimecastStreamSource {
  readonly stream: SiemV2Listing['stream'];
  private readonly path: string;
  private readonly ctx: CallContext;

  constructor(
    private readonly deps: SourceDeps,
    private readonly listing: SiemV2Listing = SIEM_V2_LISTINGS.siem,
  ) {
    this.stream = listing.stream;
    this.path = listing.path;
    this.ctx = callContext(deps, listing.stream, 'GET', listing.path, listing.permission);
  }

  private types(): string[] {
    return [...this.listing.types(this.deps.settings)];
  }

  seed(start: Date, now: Date): Cursor {
    return {
      since: toIsoUtc(Math.min(start.getTime(), now.getTime())),
      pages: Object.fromEntries(this.types().map((type) => [type, null])),
      pending: this.types(),
      seen: {},
      unadvanced: [],
    };
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const current = parseCursor(this.stream, SiemV2Cursor, cursor, 'SIEM batch');
    const pending = current.pending.length > 0 ? current.pending : this.types();
    const type = pending[0];
    const token = current.pages[type] ?? null;
    const seen = current.seen?.[type] ?? [];
    const list = () =>
      this.list(type, token, Date.parse(current.since), this.deps.settings.siemBatchPageSize, budget);
    const listing = await list();

    const nextPage = listing['@nextPage'] || null;
    const typeDone = listing.isCaughtUp === true || listing.value.length === 0 || nextPage === null;
    const fresh = newFiles(listing.value, seen);
    if (!typeDone && nextPage === token) {
      throw pagingStalled(this.ctx, '@nextPage is the nextPage it was asked with, on a page not caught up');
    }
    // Asked again with a kept token (or by dates), the first page is one read before; otherwise a page
    // of nothing new that says more follows is the same page again.
    const unadvanced = new Set(current.unadvanced);
    if (!typeDone && fresh.length === 0 && !unadvanced.has(type)) {
      throw pagingStalled(this.ctx, 'a page not caught up lists only files already read');
    }
    // Never back to dates: without a new @nextPage the type keeps the one it had.
    const pages = { ...current.pages, [type]: nextPage ?? token };
    if (nextPage === null) unadvanced.add(type);
    else unadvanced.delete(type);
    const read = [...seen, ...fresh.map((file) => file.key)].slice(-this.seenFilesPerType());
    const rest = typeDone ? pending.slice(1) : pending;
    const end: PageEnd = {
      next: {
        since: current.since,
        pages,
        pending: rest.length > 0 ? rest : this.types(),
        seen: { ...current.seen, [type]: read },
        unadvanced: [...unadvanced],
      },
      caughtUp: rest.length === 0,
    };
    // The same filter on a fresh listing of this page, so positions in it line up.
    const relist = async () => newFiles((await list()).value, seen);
    return {
      records: this.records(fresh, relist, type, Date.parse(current.since), budget),
      end: () => end,
    };
  }

  /** Files remembered per type: repeats come from the page before or a page listed again, so two pages' worth. */
  private seenFilesPerType(): number {
    return Math.min(2 * this.deps.settings.siemBatchPageSize, MAX_SEEN_FILES_PER_TYPE);
  }

  async probe(budget: CallBudget): Promise<void> {
    await this.list(this.types()[0], null, this.deps.clock.now(), 1, budget);
  }

  private list(
    type: string,
    token: string | null,
    sinceMs: number,
    pageSize: number,
    budget: CallBudget,
  ): Promise<Listing> {
    const url = apiUrl(this.deps.base, this.path);
    url.searchParams.set('type', type);
    url.searchParams.set('pageSize', String(pageSize));
    if (token) {
      url.searchParams.set('nextPage', token);
    } else {
      // Date-only, and Mimecast keeps 7 days: start no earlier than 6 whole days back.
      const earliest = this.deps.clock.now() - (SIEM_V2_MAX_LOOKBACK_DAYS - 1) * DAY_MS;
      if (sinceMs < earliest) {
        this.deps.log.warn(
          'Start is older than Mimecast keeps SIEM batches; starting at the look-back limit',
          {
            stream: this.stream,
            type,
            requestedStart: toIsoUtc(sinceMs),
            maxLookbackDays: SIEM_V2_MAX_LOOKBACK_DAYS,
          },
        );
      }
      // Both dates on the first call (Gravwell's mock requires them); later calls follow @nextPage alone.
      url.searchParams.set('dateRangeStartsAt', formatDateOnly(Math.max(sinceMs, earliest)));
      url.searchParams.set('dateRangeEndsAt', formatDateOnly(this.deps.clock.now()));
    }
    return this.deps.transport.call(
      { ctx: this.ctx, method: 'GET', url, headers: { accept: 'application/json' }, authenticate: true },
      budget,
      async (res) => {
        const json = await readJson(res, this.ctx, this.deps.settings.maxJsonBytes);
        throwOnFailures(this.ctx, res.status, json);
        const parsed = Listing.safeParse(json);
        if (!parsed.success) {
          throw protocolError(
            this.ctx,
            'Batch listing without a value array',
            excerpt(JSON.stringify(json) ?? ''),
          );
        }
        return parsed.data;
      },
    );
  }

  /** The page's files one after another, decoded as they download; a flat iterator, one promise per record. */
  private records(
    listed: ListedFile[],
    relist: () => Promise<ListedFile[]>,
    type: string,
    sinceMs: number,
    budget: CallBudget,
  ): AsyncIterable<SourceRecord> {
    let files = listed;
    let index = 0;
    let relists = 0;
    let current: AsyncIterableIterator<SourceRecord> | undefined;

    const open = async (): Promise<AsyncIterableIterator<SourceRecord>> => {
      for (;;) {
        try {
          const res = await this.download(files[index], budget);
          return this.decodeFile(res, files[index], type, sinceMs);
        } catch (err) {
          if (!(err instanceof FileUrlExpiredError)) {
            throw err;
          }
          if (relists >= this.deps.settings.fileUrlRelistAttempts) {
            throw new TransientError(
              `Batch file still unavailable after listing the page ${relists} more times (stream ${this.stream}, ${err.endpoint}, HTTP ${err.status})`,
              'Nothing to change if it happens once: the next run lists the page again. If it persists, Mimecast is not serving files it lists.',
              { stream: this.stream, endpoint: err.endpoint, status: err.status, cause: err },
            );
          }
          // Expired URLs: ask again with the same cursor for fresh ones, and continue at the same file.
          relists += 1;
          this.deps.log.info('Batch file URL expired; listing the page again', {
            stream: this.stream,
            type,
            relists,
          });
          const again = await relist();
          const position = again.findIndex((file) => file.key === files[index].key);
          if (position === -1 && again.length !== files.length) {
            throw new TransientError(
              `The batch listing changed while its files were being read (stream ${this.stream}, GET ${this.path})`,
              'Nothing to change: the next run starts this page again.',
              { stream: this.stream, endpoint: this.ctx.endpoint },
            );
          }
          files = again;
          index = position === -1 ? index : position;
        }
      }
    };

    const iterator: AsyncIterableIterator<SourceRecord> = {
      async next(): Promise<IteratorResult<SourceRecord>> {
        for (;;) {
          if (current) {
            const result = await current.next();
            if (!result.done) {
              return result;
            }
            current = undefined;
            index += 1;
          }
          if (index >= files.length) {
            return { value: undefined, done: true };
          }
          current = await open();
        }
      },
      async return(): Promise<IteratorResult<SourceRecord>> {
        index = files.length;
        await current?.return?.();
        current = undefined;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private download(file: BatchFile, budget: CallBudget): Promise<HttpResponse> {
    let url: URL;
    try {
      url = new URL(file.url);
    } catch (err) {
      throw protocolError(
        this.ctx,
        'Batch file URL is not a URL',
        excerpt(file.url.replace(/\?.*$/, '')),
        err,
      );
    }
    if (!isSecureOrLoopback(url)) {
      throw protocolError(
        this.ctx,
        'Batch file URL is not https',
        excerpt(`${url.protocol}//${url.host}${url.pathname}`),
      );
    }
    const ctx: CallContext = { ...this.ctx, endpoint: `GET ${url.pathname}`, role: 'download' };
    // Pre-signed: no Bearer header, no credential of any kind.
    return this.deps.transport.call(
      { ctx, method: 'GET', url, headers: { accept: '*/*' }, authenticate: false },
      budget,
      async (res) => res,
    );
  }

  private decodeFile(
    res: HttpResponse,
    file: BatchFile,
    type: string,
    sinceMs: number,
  ): AsyncIterableIterator<SourceRecord> {
    const ctx: CallContext = { ...this.ctx, endpoint: `GET ${new URL(file.url).pathname}`, role: 'download' };
    const queue = new Queue<SourceRecord>();
    // Identical events are numbered per file: a file read again (a resume) numbers them the same.
    const ids = new OccurrenceIds(this.stream);
    const decoder = new NdjsonDecoder((record, text) => {
      const timeMs = parseMimecastTime(record.timestamp);
      if (timeMs === undefined) {
        throw new DecodeError('SIEM event without a valid timestamp', excerpt(JSON.stringify(record)));
      }
      if (timeMs >= sinceMs) {
        const logType = typeof record.type === 'string' && record.type !== '' ? record.type : type;
        // The file's own bytes make the id (a batch file never changes) and are the event.
        queue.push({ id: ids.idOfText(text), logType, time: toIsoUtc(timeMs), event: new RecordJson(text) });
      }
    }, this.deps.settings.maxRecordChars);
    return decodeRecords(gunzip(bodyChunks(res, ctx)), decoder, queue, {
      mapError: (err) => decodingError(ctx, err),
    });
  }
}

/** A listed file and the key it is remembered by. */
type ListedFile = BatchFile & { key: string };

/**
 * The listed files not read before: not in `seen`, and not earlier on this page. A file's identity is its
 * URL without the query string (each listing signs it afresh); an unparsable URL keeps its whole text,
 * and fails when downloaded.
 */
function newFiles(value: readonly BatchFile[], seen: readonly string[]): ListedFile[] {
  const known = new Set(seen);
  const fresh: ListedFile[] = [];
  for (const file of value) {
    const key = fileKey(file.url);
    if (!known.has(key)) {
      known.add(key);
      fresh.push({ ...file, key });
    }
  }
  return fresh;
}

function fileKey(url: string): string {
  let identity = url;
  try {
    const parsed = new URL(url);
    identity = `${parsed.host}${parsed.pathname}`;
  } catch {
    // Kept whole: download() reports it.
  }
  // 72 bits: collisions are out of reach among a thousand files, and the checkpoint stays small.
  return createHash('sha256').update(identity).digest('base64url').slice(0, 12);
}
