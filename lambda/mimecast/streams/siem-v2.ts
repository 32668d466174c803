/**
 * `siem` on API 2.0: `GET /siem/v1/batch/events/cg` lists batch files (pre-signed URLs of gzip NDJSON),
 * one event type per listing as every known client does, paged by `@nextPage`. `siem-ci` is the same
 * protocol on `GET /siem/v1/batch/events/ci` (Cloud Integrated) with its own event types
 * (`SIEM_V2_LISTINGS`).
 *
 * Cursor:
 * ```
 * {
 *   "since": ISO,                          // collection start: older events are dropped
 *   "pages": { "<type>": string | null },  // last @nextPage per type (null: not started)
 *   "pending": ["<type>", ...]             // types still to list in this round, current first
 * }
 * ```
 * The first listing of a type sends `dateRangeStartsAt`/`dateRangeEndsAt` (date-only, start clamped to
 * the 7-day retention); later ones send `type` and `nextPage`.
 * One fetchPage lists one page of the first pending type and streams its files. A type leaves the
 * round when Mimecast says `isCaughtUp` (or the page is empty, or has no `@nextPage`); when no type is
 * pending the stream is caught up and the next round starts with every type. `@nextPage` is kept when
 * caught up (Mimecast returns one for later polls); a missing one keeps the previous token.
 */
import * as z from 'zod';
import type { CallBudget, Cursor, Page, PageEnd, SourceRecord } from '../../core/ports';
import { TransientError } from '../../errors';
import { isSecureOrLoopback } from '../../url-rules';
import { type CallContext, excerpt, protocolError } from '../classify';
import { SIEM_V2_MAX_LOOKBACK_DAYS } from '../constants';
import { DecodeError } from '../decode/errors';
import { gunzip } from '../decode/gzip';
import { NdjsonDecoder } from '../decode/lines';
import { decodeRecords, Queue } from '../decode/pump';
import { SIEM_CI_BATCH_PATH, SIEM_CI_PERMISSION, SIEM_PERMISSION, SIEM_V2_BATCH_PATH } from '../endpoints';
import { apiUrl } from '../hosts';
import { bodyChunks, FileUrlExpiredError, type HttpResponse, readJson } from '../http';
import { formatDateOnly, parseMimecastTime, toIsoUtc } from '../time';
import type { MimecastStreamSource } from '../types';
import { callContext, decodingError, IsoTime, parseCursor, type SourceDeps, throwOnFailures } from './common';

const SiemV2Cursor = z.object({
  since: IsoTime,
  pages: z.record(z.string(), z.string().min(1).nullable()),
  pending: z.array(z.string()),
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
    };
  }

  async fetchPage(cursor: Cursor, budget: CallBudget): Promise<Page> {
    const current = parseCursor(this.stream, SiemV2Cursor, cursor, 'SIEM batch');
    const pending = current.pending.length > 0 ? current.pending : this.types();
    const type = pending[0];
    const token = current.pages[type] ?? null;
    const listing = await this.list(
      type,
      token,
      Date.parse(current.since),
      this.deps.settings.siemBatchPageSize,
      budget,
    );

    const typeDone = listing.isCaughtUp === true || listing.value.length === 0 || !listing['@nextPage'];
    const pages = { ...current.pages, [type]: listing['@nextPage'] || token };
    const rest = typeDone ? pending.slice(1) : pending;
    const end: PageEnd = {
      next: { since: current.since, pages, pending: rest.length > 0 ? rest : this.types() },
      caughtUp: rest.length === 0,
    };
    const relist = () =>
      this.list(type, token, Date.parse(current.since), this.deps.settings.siemBatchPageSize, budget);
    return {
      records: this.records(listing.value, relist, type, Date.parse(current.since), budget),
      end: () => end,
    };
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
    listed: BatchFile[],
    relist: () => Promise<Listing>,
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
          const again = (await relist()).value;
          const position = again.findIndex((file) => samePath(file.url, files[index].url));
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
    const decoder = new NdjsonDecoder((record) => {
      const timeMs = parseMimecastTime(record.timestamp);
      if (timeMs === undefined) {
        throw new DecodeError('SIEM event without a valid timestamp', excerpt(JSON.stringify(record)));
      }
      if (timeMs >= sinceMs) {
        const logType = typeof record.type === 'string' && record.type !== '' ? record.type : type;
        queue.push({ logType, time: toIsoUtc(timeMs), event: record });
      }
    }, this.deps.settings.maxRecordChars);
    return decodeRecords(gunzip(bodyChunks(res, ctx)), decoder, queue, {
      mapError: (err) => decodingError(ctx, err),
    });
  }
}

function samePath(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.host === y.host && x.pathname === y.pathname;
  } catch {
    return false;
  }
}
