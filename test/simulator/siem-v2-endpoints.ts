/**
 * API 2.0 SIEM (docs/mimecast-api.md D.3, D.4, D.5):
 * - `GET /siem/v1/batch/events/cg` lists batch files `{value:[{url,size,expiry}], @nextPage, isCaughtUp}`,
 *   always with an `@nextPage` (also when caught up) that later polls continue from;
 *   `GET /siem/v1/batch/events/ci` does the same for Cloud Integrated events (`entities`, `mailflow`, `urlclick`);
 * - the files sit behind pre-signed, expiring, unguessable object-store URLs served without Bearer auth;
 * - `GET /siem/v1/events/cg` returns the same events inline, last 24 hours only.
 */
import { z } from 'zod';
import { headerValue, type SimContext, type SimRequest } from './context';
import {
  DAY_MS,
  formatAmzDate,
  formatDateOnly,
  parseAmzDate,
  parseDateOnly,
  parseRequestDate,
} from './dates';
import { buildV2FileBody } from './file-bodies';
import { jsonResponse, type SimResponse, s3Error, siemError } from './responses';
import { CI_LOG_TYPES, V2_LOG_TYPES } from './siem-records';
import type { SiemFile, SiemFileStore } from './stores';

const STREAM_TOKEN_KIND = 'stream-next-page';
const FILE_PATH = /^\/mimecast-siem-(cg|ci)\/[^/]+\/\d{4}\/\d{2}\/\d{2}\/(\d+)-([0-9a-f]{16})\.json\.gz$/;

/** A batch-file feed: Cloud Gateway (`cg`) or Cloud Integrated (`ci`). */
export type BatchFeedName = 'cg' | 'ci';

interface BatchFeed {
  name: BatchFeedName;
  store: SiemFileStore<string>;
  types: readonly string[];
  event(seq: number): Record<string, unknown>;
}

function feedOf(context: SimContext, name: BatchFeedName): BatchFeed {
  const data = context.data;
  return name === 'cg'
    ? { name, store: data.siemV2, types: V2_LOG_TYPES, event: (seq) => data.v2Event(seq) }
    : { name, store: data.siemCi, types: CI_LOG_TYPES, event: (seq) => data.ciEvent(seq) };
}

/** Listing tokens of the two feeds are not interchangeable. */
function batchTokenKind(feed: BatchFeed): string {
  return feed.name === 'cg' ? 'batch-next-page' : 'ci-batch-next-page';
}

/** The CG names are kept as they were, so CG file URLs stay stable across simulator versions. */
function fileIdSubject(feed: BatchFeed, seq: number): string {
  return feed.name === 'cg' ? `v2file:${seq}` : `cifile:${seq}`;
}

const batchTokenSchema = z.object({ after: z.int().min(-1), types: z.array(z.string()).nullable() });
const streamTokenSchema = z.object({
  after: z.tuple([z.number(), z.number()]).nullable(),
  from: z.number(),
  to: z.number().nullable(),
  types: z.array(z.string()).nullable(),
});

function invalid(message: string): SimResponse {
  return siemError(400, 'Request Validation Failed', message);
}

type TypesOutcome = { ok: true; types: string[] | null } | { ok: false; response: SimResponse };

function parseTypes(raw: string | null, context: SimContext, known: readonly string[]): TypesOutcome {
  if (raw === null || raw.trim() === '') return { ok: true, types: null };
  const types = raw.split(',').map((t) => t.trim());
  if (types.length > 1 && context.options.variants.v2BatchMultiType === 'reject') {
    return { ok: false, response: invalid('type accepts a single event type') };
  }
  const unknown = types.filter((t) => !known.includes(t));
  if (unknown.length > 0) return { ok: false, response: invalid(`Unknown type: ${unknown.join(', ')}`) };
  return { ok: true, types };
}

function parsePageSize(raw: string | null, fallback: number, max: number): number | undefined {
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return value >= 1 ? Math.min(value, max) : undefined;
}

/** A pre-signed URL in the style of S3's SigV4 query signing, checked by handleBatchFileDownload. */
function presignedUrl(context: SimContext, feed: BatchFeed, file: SiemFile): { url: string; expiry: string } {
  const now = context.now();
  const issuedAt = Math.floor(now / 1000) * 1000;
  const expiresSeconds = Math.max(1, Math.ceil(context.options.siem.batchUrlTtlMs / 1000));
  const day = formatDateOnly(file.createdAt).replaceAll('-', '/');
  const path = `/mimecast-siem-${feed.name}/${context.data.tenant.accountCode}/${day}/${file.seq}-${context.sealer.idFor(fileIdSubject(feed, file.seq))}.json.gz`;
  const amzDate = formatAmzDate(issuedAt);
  const query = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `SIMULATOREXAMPLEKEY/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`,
    'X-Amz-Date': amzDate,
    'X-Amz-Expires': String(expiresSeconds),
    'X-Amz-SignedHeaders': 'host',
  });
  query.set('X-Amz-Signature', context.sealer.signHex(`${path}\n${amzDate}\n${expiresSeconds}`));
  return {
    url: `${context.baseUrl()}${path}?${query.toString()}`,
    expiry: new Date(issuedAt + expiresSeconds * 1000).toISOString(),
  };
}

function v2FileBody(context: SimContext, feed: BatchFeed, file: SiemFile): Buffer {
  const key = feed.name === 'cg' ? `v2:${file.seq}` : `ci:${file.seq}`;
  return context.bodies.get(key, () => buildV2FileBody(file, feed.event));
}

export function handleBatchListing(
  request: SimRequest,
  context: SimContext,
  feedName: BatchFeedName,
): SimResponse {
  const feed = feedOf(context, feedName);
  const { query } = request;
  const variants = context.options.variants;
  const pageSize = parsePageSize(query.get('pageSize'), 100, variants.v2BatchMaxPageSize);
  if (pageSize === undefined) return invalid('pageSize must be a positive integer');

  let after = -1;
  let tokenTypes: string[] | null = null;
  const nextPage = query.get('nextPage');
  if (nextPage) {
    const opened = batchTokenSchema.safeParse(context.sealer.open(batchTokenKind(feed), nextPage));
    if (!opened.success) return invalid('nextPage is not valid');
    after = opened.data.after;
    tokenTypes = opened.data.types;
  }
  const typesOutcome = parseTypes(query.get('type'), context, feed.types);
  if (!typesOutcome.ok) return typesOutcome.response;
  const types = typesOutcome.types ?? tokenTypes;

  const startRaw = query.get('dateRangeStartsAt');
  const endRaw = query.get('dateRangeEndsAt');
  if (!nextPage && variants.v2BatchDatesRequired === 'first-call' && (!startRaw || !endRaw)) {
    return invalid('dateRangeStartsAt and dateRangeEndsAt are required');
  }
  const start = startRaw ? parseDateOnly(startRaw) : undefined;
  const endDay = endRaw ? parseDateOnly(endRaw) : undefined;
  if ((startRaw && start === undefined) || (endRaw && endDay === undefined)) {
    return invalid('dateRangeStartsAt and dateRangeEndsAt must be dates of the form YYYY-MM-DD');
  }
  const end = endDay === undefined ? Number.POSITIVE_INFINITY : endDay + DAY_MS - 1;
  if (start !== undefined && start > end)
    return invalid('dateRangeStartsAt must not be after dateRangeEndsAt');

  const store = feed.store;
  const now = context.now();
  const firstLive = store.firstLiveFile(now, context.options.siem.retentionMs);
  const candidates = matchingFiles(store.files, after, types, store.fileSeqsOfType.bind(store), firstLive);
  const value: { url: string; size: number; expiry: string }[] = [];
  let last = after;
  let caughtUp = true;
  // Bounded by the number of files held.
  for (const seq of candidates) {
    const file = store.files[seq];
    if (start !== undefined && file.createdAt < start) {
      last = seq;
      continue;
    }
    if (file.createdAt > end) break;
    if (value.length === pageSize) {
      caughtUp = false;
      break;
    }
    value.push(listingEntry(context, feed, file));
    last = seq;
  }
  if (variants.v2BatchRepeatUrls === 'pad') {
    // Padded out to the page size with files already listed: the previous page's, then this page's own.
    const own = value.slice();
    const repeats = filesBefore(after, types, pageSize, store, firstLive).map((seq) =>
      listingEntry(context, feed, store.files[seq]),
    );
    for (const entry of [...repeats, ...own]) {
      if (value.length >= pageSize) break;
      value.push(entry);
    }
  }
  const answer: Record<string, unknown> = { value, isCaughtUp: caughtUp };
  if (!caughtUp || variants.v2BatchNextPageWhenCaughtUp === 'always') {
    answer['@nextPage'] = context.sealer.seal(batchTokenKind(feed), { after: last, types });
  }
  return jsonResponse(200, answer);
}

function listingEntry(
  context: SimContext,
  feed: BatchFeed,
  file: SiemFile,
): { url: string; size: number; expiry: string } {
  const { url, expiry } = presignedUrl(context, feed, file);
  return { url, size: v2FileBody(context, feed, file).length, expiry };
}

/** Up to `count` file seqs at or before `at`, of the given types (all when null), newest first. */
function filesBefore(
  at: number,
  types: string[] | null,
  count: number,
  store: BatchFeed['store'],
  firstLive: number,
): number[] {
  const seqs: number[] = [];
  for (const list of types === null ? [null] : types.map((type) => store.fileSeqsOfType(type))) {
    // Without a type filter every file counts; with one, each type's own list.
    let i = list === null ? at : lowerBound(list, at + 1) - 1;
    for (let taken = 0; taken < count && i >= 0; taken++, i--) {
      const seq = list === null ? i : list[i];
      if (seq < firstLive) break;
      seqs.push(seq);
    }
  }
  return seqs.sort((a, b) => b - a).slice(0, count);
}

/** File seqs after `after`, of the given types (all when null), ascending. */
function* matchingFiles(
  files: readonly SiemFile[],
  after: number,
  types: string[] | null,
  seqsOfType: (type: string) => readonly number[],
  firstLive: number,
): Generator<number> {
  const from = Math.max(after + 1, firstLive);
  if (types === null) {
    for (let seq = from; seq < files.length; seq++) yield seq;
    return;
  }
  const lists = types.map((type) => seqsOfType(type));
  const cursors = lists.map((list) => lowerBound(list, from));
  // k-way merge of per-type lists; each step advances one cursor.
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (cursors[i] < lists[i].length && (best < 0 || lists[i][cursors[i]] < lists[best][cursors[best]]))
        best = i;
    }
    if (best < 0) return;
    yield lists[best][cursors[best]];
    cursors[best]++;
  }
}

function lowerBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function isBatchFilePath(path: string): boolean {
  return FILE_PATH.test(path);
}

/** GET on a pre-signed batch file URL: no Bearer, S3-style errors. */
export function handleBatchFileDownload(
  request: SimRequest,
  context: SimContext,
  forceExpired: boolean,
): SimResponse {
  if (request.method !== 'GET')
    return s3Error(405, 'MethodNotAllowed', 'The specified method is not allowed');
  const match = FILE_PATH.exec(request.path);
  const feed = feedOf(context, match?.[1] === 'ci' ? 'ci' : 'cg');
  const store = feed.store;
  const seq = match ? Number(match[2]) : -1;
  if (!match || seq >= store.files.length || match[3] !== context.sealer.idFor(fileIdSubject(feed, seq))) {
    return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  }
  if (
    headerValue(request.headers, 'authorization') &&
    context.options.variants.batchUrlWithAuthorization === 'reject'
  ) {
    return s3Error(
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  }
  const amzDate = request.query.get('X-Amz-Date') ?? '';
  const expires = request.query.get('X-Amz-Expires') ?? '';
  const signature = request.query.get('X-Amz-Signature') ?? '';
  if (signature !== context.sealer.signHex(`${request.path}\n${amzDate}\n${expires}`)) {
    return s3Error(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  }
  const issuedAt = parseAmzDate(amzDate);
  const now = context.now();
  if (forceExpired || issuedAt === undefined || now >= issuedAt + Number(expires) * 1000) {
    return s3Error(403, 'AccessDenied', 'Request has expired');
  }
  if (seq < store.firstLiveFile(now, context.options.siem.retentionMs)) {
    return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/octet-stream' },
    body: v2FileBody(context, feed, store.files[seq]),
  };
}

/** `GET /siem/v1/events/cg`: events inline, time-ordered, within the last 24 hours. */
export function handleStreamingEvents(request: SimRequest, context: SimContext): SimResponse {
  const { query } = request;
  const variants = context.options.variants;
  const now = context.now();
  const pageSize = parsePageSize(query.get('pageSize'), 100, variants.v2BatchMaxPageSize);
  if (pageSize === undefined) return invalid('pageSize must be a positive integer');

  let token: z.infer<typeof streamTokenSchema>;
  const nextPage = query.get('nextPage');
  if (nextPage) {
    const opened = streamTokenSchema.safeParse(context.sealer.open(STREAM_TOKEN_KIND, nextPage));
    if (!opened.success) return invalid('nextPage is not valid');
    token = opened.data;
  } else {
    const startRaw = query.get('dateRangeStartsAt');
    const endRaw = query.get('dateRangeEndsAt');
    const from = startRaw ? parseRequestDate(startRaw) : now - DAY_MS;
    const to = endRaw ? parseRequestDate(endRaw) : null;
    if (from === undefined || to === undefined) {
      return invalid(
        'dateRangeStartsAt and dateRangeEndsAt must be ISO-8601 date-times, e.g. 2025-12-24T11:23:41.955Z',
      );
    }
    if (from < now - DAY_MS) return invalid("'from' must be within the 24-hour retention period");
    const types = parseTypes(query.get(variants.v2StreamingTypeParam), context, V2_LOG_TYPES);
    if (!types.ok) return types.response;
    token = { after: null, from, to, types: types.types };
  }

  const store = context.data.siemV2;
  const events: Record<string, unknown>[] = [];
  let last = token.after;
  let caughtUp = true;
  const after = token.after ? { time: token.after[0], seq: token.after[1] } : undefined;
  const to = token.to ?? Number.POSITIVE_INFINITY;
  for (const entry of store.timeline.walk('asc', Math.max(token.from, now - DAY_MS), to, after)) {
    if (token.types && !token.types.includes(store.typeOf(entry.seq))) continue;
    if (events.length === pageSize) {
      caughtUp = false;
      break;
    }
    events.push(renameForStreaming(context.data.v2Event(entry.seq), variants.v2StreamingKeys));
    last = [entry.time, entry.seq];
  }
  const next = context.sealer.seal(STREAM_TOKEN_KIND, { ...token, after: last });
  return jsonResponse(200, {
    value: events,
    '@nextPage': next,
    '@nextLink': `${context.baseUrl()}/siem/v1/events/cg?nextPage=${encodeURIComponent(next)}`,
    pageSize: events.length,
    isCaughtUp: caughtUp,
  });
}

function renameForStreaming(
  record: Record<string, unknown>,
  keys: 'type-subtype' | 'eventType-subType',
): Record<string, unknown> {
  if (keys === 'type-subtype') return record;
  const { type, subtype, ...rest } = record;
  return { ...rest, eventType: type, subType: subtype };
}
