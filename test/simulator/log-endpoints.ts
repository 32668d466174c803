/**
 * The paged JSON log endpoints (docs/mimecast-api.md B.2–B.8, D.7): audit, TTP URL/attachment/impersonation, DLP,
 * held-message release and archive search, identical under API 1.0 and 2.0.
 *
 * A request names an inclusive time window; records come back newest first (or oldest first where the
 * endpoint has `oldestFirst`). The page token is authoritative: it carries the window, order, filters,
 * the keyset position and the snapshot, so follow-up calls may or may not re-send `data[]`.
 */
import { z } from 'zod';
import type { SimContext, SimRequest } from './context';
import { DAY_MS, parseRequestDate, startOfUtcDay } from './dates';
import { invalidPageToken, parseEnvelope, resolvePageSize, validationFailure } from './envelope';
import type { LogStreamId } from './log-records';
import { jsonResponse, type SimResponse } from './responses';
import type { LogStore } from './stores';

type LogRecord = Record<string, unknown>;
type Filters = Record<string, string | boolean | string[]>;

interface LogEndpoint {
  stream: LogStreamId;
  fromField: string;
  toField: string;
  /** Audit requires both dates; the others default them. */
  required: boolean;
  defaultFrom(now: number): number;
  /** `oldestFirst` honoured from data[0], otherwise always newest first. */
  hasOldestFirst: boolean;
  /** data[0].<listKey> holds the records; undefined: records directly in data[]. */
  listKey?: string;
  /** Impersonation adds `resultCount` next to the list. */
  withResultCount?: boolean;
  /** Filter inputs from data[0], normalised (they travel in the page token). */
  filters(item: LogRecord): Filters;
  matches(record: LogRecord, filters: Filters): boolean;
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown) =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;

function routeFilter(item: LogRecord, key: string): Filters {
  const value = str(item[key]);
  return value && value !== 'all' ? { [key]: value } : {};
}

const contains = (haystack: unknown, needle: string) =>
  typeof haystack === 'string' && haystack.toLowerCase().includes(needle.toLowerCase());

const startOfToday = (now: number) => startOfUtcDay(now);

const ENDPOINTS: Record<LogStreamId, LogEndpoint> = {
  audit: {
    stream: 'audit',
    fromField: 'startDateTime',
    toField: 'endDateTime',
    required: true,
    defaultFrom: startOfToday,
    hasOldestFirst: false,
    filters(item) {
      const filters: Filters = {};
      const categories = strings(item.categories);
      if (categories && categories.length > 0) filters.categories = categories;
      const query = str(item.query);
      if (query) filters.query = query;
      return filters;
    },
    matches(record, filters) {
      const categories = filters.categories as string[] | undefined;
      if (categories && !categories.includes(String(record.category))) return false;
      const query = filters.query as string | undefined;
      return (
        !query ||
        contains(record.auditType, query) ||
        contains(record.user, query) ||
        contains(record.eventInfo, query)
      );
    },
  },
  'ttp-url': {
    stream: 'ttp-url',
    fromField: 'from',
    toField: 'to',
    required: false,
    defaultFrom: startOfToday,
    hasOldestFirst: true,
    listKey: 'clickLogs',
    filters: (item) => ({ ...routeFilter(item, 'route'), ...routeFilter(item, 'scanResult') }),
    matches: (record, filters) =>
      (filters.route === undefined || record.route === filters.route) &&
      (filters.scanResult === undefined || record.scanResult === filters.scanResult),
  },
  'ttp-attachment': {
    stream: 'ttp-attachment',
    fromField: 'from',
    toField: 'to',
    required: false,
    defaultFrom: startOfToday,
    hasOldestFirst: true,
    listKey: 'attachmentLogs',
    filters: (item) => ({ ...routeFilter(item, 'route'), ...routeFilter(item, 'result') }),
    matches: (record, filters) =>
      (filters.route === undefined || record.route === filters.route) &&
      (filters.result === undefined || record.result === filters.result),
  },
  'ttp-impersonation': {
    stream: 'ttp-impersonation',
    fromField: 'from',
    toField: 'to',
    required: false,
    defaultFrom: startOfToday,
    hasOldestFirst: true,
    listKey: 'impersonationLogs',
    withResultCount: true,
    filters(item): Filters {
      return typeof item.taggedMalicious === 'boolean' ? { taggedMalicious: item.taggedMalicious } : {};
    },
    matches: (record, filters) =>
      filters.taggedMalicious === undefined || record.taggedMalicious === filters.taggedMalicious,
  },
  dlp: {
    stream: 'dlp',
    fromField: 'from',
    toField: 'to',
    required: false,
    defaultFrom: startOfToday,
    hasOldestFirst: true,
    listKey: 'dlpLogs',
    filters(item) {
      const filters: Filters = {};
      const routes = strings(item.routes);
      if (routes && routes.length > 0) filters.routes = routes;
      const actions = strings(item.actions);
      if (actions && actions.length > 0) filters.actions = actions;
      return filters;
    },
    matches: (record, filters) =>
      (!filters.routes || (filters.routes as string[]).includes(String(record.route))) &&
      (!filters.actions || (filters.actions as string[]).includes(String(record.action))),
  },
  'held-release': {
    stream: 'held-release',
    fromField: 'start',
    toField: 'end',
    required: false,
    // Documented default: one month back.
    defaultFrom: (now) => now - 30 * DAY_MS,
    hasOldestFirst: false,
    listKey: 'heldReleaseLogs',
    filters: () => ({}),
    matches: () => true,
  },
  'archive-search': {
    stream: 'archive-search',
    fromField: 'start',
    toField: 'end',
    required: false,
    defaultFrom: startOfToday,
    hasOldestFirst: false,
    listKey: 'logs',
    filters(item): Filters {
      const query = str(item.query);
      return query ? { query } : {};
    },
    matches: (record, filters) =>
      filters.query === undefined ||
      contains(record.searchText, filters.query as string) ||
      contains(record.description, filters.query as string),
  },
};

/** Request path → stream, honouring the archive-search path variant (docs/mimecast-api.md G.5). */
export function logEndpointPaths(context: SimContext): Map<string, LogStreamId> {
  const paths = new Map<string, LogStreamId>([
    ['/api/audit/get-audit-events', 'audit'],
    ['/api/ttp/url/get-logs', 'ttp-url'],
    ['/api/ttp/attachment/get-logs', 'ttp-attachment'],
    ['/api/ttp/impersonation/get-logs', 'ttp-impersonation'],
    ['/api/dlp/get-logs', 'dlp'],
    ['/api/gateway/get-held-release-logs', 'held-release'],
  ]);
  const archive = context.options.variants.archiveSearchPaths;
  if (archive !== 'get-search-logs') paths.set('/api/archive/get-archive-search-logs', 'archive-search');
  if (archive !== 'get-archive-search-logs') paths.set('/api/archive/get-search-logs', 'archive-search');
  return paths;
}

const PAGE_TOKEN_KIND = 'page';

const pageTokenSchema = z.object({
  stream: z.string(),
  from: z.number(),
  to: z.number(),
  order: z.enum(['asc', 'desc']),
  /** Highest seq visible to this walk (snapshot), or null for a live walk. */
  asOf: z.number().nullable(),
  /** Keyset position: the last entry already served, or null at the start. */
  after: z.tuple([z.number(), z.number()]).nullable(),
  total: z.number(),
  filters: z.record(z.string(), z.union([z.string(), z.boolean(), z.array(z.string())])),
});
type PageToken = z.infer<typeof pageTokenSchema>;

type WindowOutcome = { ok: true; token: PageToken } | { ok: false; response: SimResponse };

function openWindow(
  endpoint: LogEndpoint,
  store: LogStore,
  item: LogRecord,
  context: SimContext,
): WindowOutcome {
  const now = context.now();
  const dates: number[] = [];
  for (const [field, fallback] of [
    [endpoint.fromField, endpoint.defaultFrom(now)],
    [endpoint.toField, now],
  ] as const) {
    const raw = item[field];
    if (raw === undefined || raw === null) {
      if (endpoint.required) {
        return {
          ok: false,
          response: validationFailure('err_validation_null', `${field} is required`, item, field),
        };
      }
      dates.push(fallback);
      continue;
    }
    if (raw === '') {
      return {
        ok: false,
        response: validationFailure('err_validation_blank', `${field} must not be blank`, item, field),
      };
    }
    const parsed = typeof raw === 'string' ? parseRequestDate(raw) : undefined;
    if (parsed === undefined) {
      return {
        ok: false,
        response: validationFailure(
          'err_validation_invalid_date',
          `${field} must be a date like 2021-11-16T12:03:24+0000`,
          item,
          field,
        ),
      };
    }
    dates.push(parsed);
  }
  // Look-back: anything older is simply no longer there.
  const from = Math.max(dates[0], store.earliest(now));
  const to = dates[1];
  if (dates[0] > to) {
    return {
      ok: false,
      response: validationFailure(
        'err_validation_invalid_range',
        `${endpoint.fromField} must not be after ${endpoint.toField}`,
        item,
        endpoint.fromField,
      ),
    };
  }
  const order = endpoint.hasOldestFirst && item.oldestFirst === true ? 'asc' : 'desc';
  const filters = endpoint.filters(item);
  const asOf = context.options.variants.pagingConsistency === 'snapshot' ? store.timeline.size - 1 : null;
  const hasFilters = Object.keys(filters).length > 0;
  let total = 0;
  if (!hasFilters) total = store.timeline.count(from, to, asOf ?? undefined);
  else {
    for (const entry of store.timeline.walk('asc', from, to)) {
      if ((asOf === null || entry.seq <= asOf) && endpoint.matches(store.record(entry.seq), filters)) total++;
    }
  }
  return { ok: true, token: { stream: endpoint.stream, from, to, order, asOf, after: null, total, filters } };
}

export function handleLogRequest(stream: LogStreamId, request: SimRequest, context: SimContext): SimResponse {
  const parsed = parseEnvelope(request.body);
  if (!parsed.ok) return parsed.response;
  const { item, pageToken, pageSize: rawPageSize } = parsed.envelope;
  const endpoint = ENDPOINTS[stream];
  const store = context.data.logs[stream];
  const size = resolvePageSize(rawPageSize, item, context);
  if (!size.ok) return size.response;

  let token: PageToken;
  if (pageToken !== undefined && pageToken !== '') {
    const opened = pageTokenSchema.safeParse(context.sealer.open(PAGE_TOKEN_KIND, pageToken));
    if (!opened.success || opened.data.stream !== stream) {
      return invalidPageToken(item);
    }
    token = opened.data;
  } else {
    const window = openWindow(endpoint, store, item, context);
    if (!window.ok) return window.response;
    token = window.token;
  }

  const records: LogRecord[] = [];
  let last: [number, number] | null = token.after;
  let more = false;
  const after = token.after ? { time: token.after[0], seq: token.after[1] } : undefined;
  for (const entry of store.timeline.walk(token.order, token.from, token.to, after)) {
    if (token.asOf !== null && entry.seq > token.asOf) continue;
    const record = store.record(entry.seq);
    if (!endpoint.matches(record, token.filters)) continue;
    if (records.length === size.pageSize) {
      more = true;
      break;
    }
    records.push(record);
    last = [entry.time, entry.seq];
  }

  const trailing = context.options.variants.pagingEnd === 'trailing-empty-page';
  const pagination: Record<string, unknown> = { pageSize: size.pageSize, totalCount: token.total };
  if (more || (trailing && (records.length > 0 || pageToken))) {
    pagination.next = context.sealer.seal(PAGE_TOKEN_KIND, { ...token, after: last });
  }
  let data: unknown[];
  if (records.length === 0 && trailing && pageToken) data = [];
  else if (endpoint.listKey === undefined) data = records;
  else {
    const wrapper: Record<string, unknown> = { [endpoint.listKey]: records };
    if (endpoint.withResultCount) wrapper.resultCount = token.total;
    data = [wrapper];
  }
  return jsonResponse(200, { meta: { status: 200, pagination }, data, fail: [] });
}
