/**
 * Simulator options, the UNCERTAIN variants of the reference as selectable switches, and their defaults.
 * Options are validated with zod so a wrong option fails at start with every problem listed.
 */
import { z } from 'zod';
import { STREAM_IDS, type StreamId } from '../../lambda/core/streams';
import type { MimecastV1Credentials, MimecastV2Credentials } from '../../lambda/secrets/credentials';
import { DAY_MS, MINUTE_MS } from './dates';
import {
  DEFAULT_V1_LOG_TYPES,
  DEFAULT_V1_UTC_OFFSETS,
  V1_LOG_TYPES,
  type V1LogType,
  V2_LOG_TYPES,
  type V2LogType,
} from './siem-records';

/**
 * Every place the reference marks UNCERTAIN (section G), as a switch. A correct collector must work with
 * every value; the defaults are the reference's recommendation or its best-supported reading.
 */
export interface SimulatorVariants {
  /** G.1 x-mc-date suffixes accepted. Default both `UTC` and `GMT`. */
  v1DateSuffixes?: Array<'UTC' | 'GMT'>;
  /** G.1 allowed clock skew of x-mc-date, seconds. Default 900 (15 min). */
  v1MaxClockSkewSeconds?: number;
  /** G.2 format of SIEM files when the request names no `fileFormat`. Default `key_value`. */
  v1SiemFormatWhenOmitted?: 'key_value' | 'json';
  /** G.2 file name extension in Content-Disposition for zipped files: `format` (`.json`/`.log`) or `zip`. Default `format`. */
  v1SiemCompressedExtension?: 'format' | 'zip';
  /** G.2 whether the "no more files" JSON answer repeats the client's token in `mc-siem-token`. Default `omit`. */
  v1SiemNoMoreFilesToken?: 'omit' | 'echo';
  /** F.2 HTTP status of `err_audit_siem_invalid_token`. Default 200 (fail[] inside HTTP 200). */
  v1SiemInvalidTokenStatus?: 200 | 400;
  /** B.1 line terminator of key_value files. Default `lf`. */
  v1KeyValueLineEnding?: 'lf' | 'crlf';
  /** G.5 which archive search path(s) exist. Default `both`. */
  archiveSearchPaths?: 'both' | 'get-archive-search-logs' | 'get-search-logs';
  /** G.4 page size when the request names none. Default 25. */
  defaultPageSize?: number;
  /** G.4 largest accepted pageSize. Default 500. */
  maxPageSize?: number;
  /** G.4 what a larger pageSize gets: silently clamped, or `fail[]` `err_validation_max_value`. Default `clamp`. */
  pageSizeOverMax?: 'clamp' | 'fail';
  /**
   * C.1 how a paged walk ends: `omit-next` (last page has no `next`) or `trailing-empty-page` (every page
   * with data has `next`; the page after the last one has `data: []` and still a `next`, as in the
   * ELASTIC mocks). Default `omit-next`.
   */
  pagingEnd?: 'omit-next' | 'trailing-empty-page';
  /**
   * Whether records published during a paged walk can show up in its later pages: `snapshot` (a walk sees
   * the data as of its first page) or `live`. Default `snapshot`.
   */
  pagingConsistency?: 'snapshot' | 'live';
  /** G.6 largest batch listing pageSize. Default 100. */
  v2BatchMaxPageSize?: number;
  /** G.6 comma-separated `type` list in one batch call. Default `accept`. */
  v2BatchMultiType?: 'accept' | 'reject';
  /** G.6 whether a batch call without `nextPage` must carry both dates (GRAVWELL mock). Default `never`. */
  v2BatchDatesRequired?: 'never' | 'first-call';
  /** G.7 name of the type filter of `/siem/v1/events/cg`. Default `types`. */
  v2StreamingTypeParam?: 'types' | 'type';
  /** G.7 key names of `/siem/v1/events/cg` records. Default `type-subtype` (as batch files). */
  v2StreamingKeys?: 'type-subtype' | 'eventType-subType';
  /** G.9 answer to bad client credentials: SEKOIA's 401 flat `fail[]`, or GRAVWELL's bare 400. Default `401-fail`. */
  v2OAuthFailure?: '401-fail' | '400-empty';
  /** G.8 throttling hint on API 2.0 429s from the built-in rate limits. Default `reset-ms`. */
  v2RateLimitHint?: RateLimitHint;
  /** D.3 a pre-signed batch URL fetched with an Authorization header: refused like S3 does, or served. Default `reject`. */
  batchUrlWithAuthorization?: 'reject' | 'accept';
  /** B.9 whether the last feed file of a walk also carries x-mc-threat-feed-next-token. Default false. */
  threatFeedTokenOnLastFile?: boolean;
  /**
   * I.1 what a feed request with nothing (more) in its window gets: HTTP 200 with `fail[]` code
   * `err_threat_intel_feed_no_result_found`, as the service answers (elastic/integrations PR #12937), or an
   * empty STIX bundle. Default `no-result-fail`.
   */
  threatFeedEmptyAnswer?: 'no-result-fail' | 'empty-bundle';
  /**
   * I.3 batch listings padded with repeated file URLs: `pad` fills every page short of `pageSize` with
   * files already listed (the previous page's, most recent first, then this page's own), each URL freshly
   * signed, as rapid7/insightconnect-plugins PRs #3290/#3295 met them. Default `never`.
   */
  v2BatchRepeatUrls?: 'never' | 'pad';
  /**
   * G.6, I.4 whether a caught-up (or empty) batch listing carries `@nextPage`: `always` (SEKOIA's fixture),
   * or `omit`, the reading under which SEKOIA stops on a missing `@nextPage`. Default `always`.
   */
  v2BatchNextPageWhenCaughtUp?: 'always' | 'omit';
  /**
   * I.2 API 2.0 access tokens stop being valid this many seconds before the `expires_in` they announced
   * (then 401 `token_expired`), as when Mimecast revokes or rotates them early. Default 0.
   */
  v2TokenEarlyExpirySeconds?: number;
}

/** How a 429 tells the client when to come back (docs/mimecast-api.md C.3, D.8). */
export type RateLimitHint = 'reset-ms' | 'reset-epoch-seconds' | 'retry-after' | 'none';

export interface RateLimitOptions {
  /** Calls allowed in a burst. */
  capacity: number;
  /** Calls added back per second (simulator clock). */
  refillPerSecond: number;
}

export interface SiemOptions {
  /** The v1 format groundTruth('siem', 1) describes (a collector must request this format). Default `json`. */
  v1FileFormat?: 'json' | 'key_value';
  /** Most events in one v1 file. Default 100. Raise it (with fileIntervalMs 0) for very large files. */
  v1EventsPerFile?: number;
  /** Most events in one v2 batch file. Default 100. */
  v2EventsPerFile?: number;
  /** Lifetime of pre-signed batch URLs in ms (rounded up to whole seconds, as S3 does). Default 15 min. */
  batchUrlTtlMs?: number;
  /** Events of one log type are cut into files per time slice of this length (0 = no slicing). Default 30 min. */
  fileIntervalMs?: number;
  /** v1 log types produced. Default receipt, process, delivery, jrnl, ttp_url. */
  v1LogTypes?: V1LogType[];
  /** v2 (Cloud Gateway) types produced. Default all ten. */
  v2LogTypes?: V2LogType[];
  /** `+hhmm` offset of v1 `datetime` per log type, in minutes. Default +60 for MTA logs, 0 for TTP logs. */
  v1UtcOffsets?: Partial<Record<V1LogType, number>>;
  /** How long files stay downloadable, ms. Default 7 days. */
  retentionMs?: number;
}

export interface SimulatorOptions {
  /** Default 0 = random. The simulator always binds 127.0.0.1. */
  port?: number;
  /** Deterministic synthetic data. Default 1. */
  seed?: number;
  /** Simulator clock, epoch ms: token expiry, date skew, URL expiry, defaults of time windows. */
  now?: () => number;
  /**
   * Records per stream at start (siem: per API version; malware feeds: indicators; Awareness Training:
   * rows of the snapshot).
   */
  events?: Partial<Record<StreamId, number>>;
  /** Event times spread over this range. Default: the 24 h ending 10 minutes before now. */
  range?: { start: Date; end: Date };
  siem?: SiemOptions;
  threatFeed?: { indicatorsPerFile?: number };
  /** Awareness Training: phishing campaigns (user-data rows are spread over them). Default 3. */
  awareness?: { campaigns?: number };
  variants?: SimulatorVariants;
  /** OAuth token lifetime. Default 1799. */
  tokenExpiresInSeconds?: number;
  /** Call quota per user/app on /api and /siem calls (C.3, D.8). Default none. */
  rateLimit?: RateLimitOptions;
  /** Quota on POST /oauth/token per client_id. Default 20 burst, 1 per 3 s. */
  tokenRateLimit?: RateLimitOptions;
  /** Fixed credentials (fields not given are derived from the seed). */
  credentials?: {
    v1?: Partial<Omit<MimecastV1Credentials, 'apiVersion'>>;
    v2?: Partial<Omit<MimecastV2Credentials, 'apiVersion'>>;
  };
  /** Epoch ms (simulator clock) at which the API 1.0 binding expires (then 418 err_xdk_binding_expired). */
  v1BindingExpiresAt?: number;
  /** Account code in records. Default derived from the seed. */
  accountCode?: string;
  /** Most requests kept for requests(). Default 10 000 (oldest dropped). */
  maxRecordedRequests?: number;
  /** Called with one line per request (the CLI's --log-requests). */
  onRequestLog?: (line: string) => void;
}

/** The default tenant: a few hundred records per stream, mixed like a real account. */
export const DEFAULT_EVENTS: Record<StreamId, number> = {
  siem: 600,
  audit: 300,
  'ttp-url': 300,
  'ttp-attachment': 200,
  'ttp-impersonation': 150,
  dlp: 150,
  'held-release': 200,
  'archive-search': 150,
  'malware-customer': 100,
  'malware-grid': 300,
  'siem-ci': 300,
  // Snapshot streams: rows of the current state (users; user data: recipients over all campaigns).
  'awareness-performance': 60,
  'awareness-safescore': 60,
  'awareness-user-data': 90,
  'awareness-watchlist': 12,
};

export const DEFAULT_VARIANTS: Required<SimulatorVariants> = {
  v1DateSuffixes: ['UTC', 'GMT'],
  v1MaxClockSkewSeconds: 900,
  v1SiemFormatWhenOmitted: 'key_value',
  v1SiemCompressedExtension: 'format',
  v1SiemNoMoreFilesToken: 'omit',
  v1SiemInvalidTokenStatus: 200,
  v1KeyValueLineEnding: 'lf',
  archiveSearchPaths: 'both',
  defaultPageSize: 25,
  maxPageSize: 500,
  pageSizeOverMax: 'clamp',
  pagingEnd: 'omit-next',
  pagingConsistency: 'snapshot',
  v2BatchMaxPageSize: 100,
  v2BatchMultiType: 'accept',
  v2BatchDatesRequired: 'never',
  v2StreamingTypeParam: 'types',
  v2StreamingKeys: 'type-subtype',
  v2OAuthFailure: '401-fail',
  v2RateLimitHint: 'reset-ms',
  batchUrlWithAuthorization: 'reject',
  threatFeedTokenOnLastFile: false,
  threatFeedEmptyAnswer: 'no-result-fail',
  v2BatchRepeatUrls: 'never',
  v2BatchNextPageWhenCaughtUp: 'always',
  v2TokenEarlyExpirySeconds: 0,
};

const positiveInt = z.int().positive();
const nonNegativeInt = z.int().nonnegative();
const rateLimitSchema = z.strictObject({ capacity: positiveInt, refillPerSecond: z.number().positive() });
const rateLimitHintSchema = z.enum(['reset-ms', 'reset-epoch-seconds', 'retry-after', 'none']);

export const variantsSchema = z.strictObject({
  v1DateSuffixes: z
    .array(z.enum(['UTC', 'GMT']))
    .min(1)
    .optional(),
  v1MaxClockSkewSeconds: nonNegativeInt.optional(),
  v1SiemFormatWhenOmitted: z.enum(['key_value', 'json']).optional(),
  v1SiemCompressedExtension: z.enum(['format', 'zip']).optional(),
  v1SiemNoMoreFilesToken: z.enum(['omit', 'echo']).optional(),
  v1SiemInvalidTokenStatus: z.union([z.literal(200), z.literal(400)]).optional(),
  v1KeyValueLineEnding: z.enum(['lf', 'crlf']).optional(),
  archiveSearchPaths: z.enum(['both', 'get-archive-search-logs', 'get-search-logs']).optional(),
  defaultPageSize: positiveInt.optional(),
  maxPageSize: positiveInt.optional(),
  pageSizeOverMax: z.enum(['clamp', 'fail']).optional(),
  pagingEnd: z.enum(['omit-next', 'trailing-empty-page']).optional(),
  pagingConsistency: z.enum(['snapshot', 'live']).optional(),
  v2BatchMaxPageSize: positiveInt.optional(),
  v2BatchMultiType: z.enum(['accept', 'reject']).optional(),
  v2BatchDatesRequired: z.enum(['never', 'first-call']).optional(),
  v2StreamingTypeParam: z.enum(['types', 'type']).optional(),
  v2StreamingKeys: z.enum(['type-subtype', 'eventType-subType']).optional(),
  v2OAuthFailure: z.enum(['401-fail', '400-empty']).optional(),
  v2RateLimitHint: rateLimitHintSchema.optional(),
  batchUrlWithAuthorization: z.enum(['reject', 'accept']).optional(),
  threatFeedTokenOnLastFile: z.boolean().optional(),
  threatFeedEmptyAnswer: z.enum(['no-result-fail', 'empty-bundle']).optional(),
  v2BatchRepeatUrls: z.enum(['never', 'pad']).optional(),
  v2BatchNextPageWhenCaughtUp: z.enum(['always', 'omit']).optional(),
  v2TokenEarlyExpirySeconds: nonNegativeInt.optional(),
}) satisfies z.ZodType<SimulatorVariants>;

const streamCounts = z.partialRecord(z.enum(STREAM_IDS), nonNegativeInt);

const optionsSchema = z.strictObject({
  port: z.int().min(0).max(65535).optional(),
  seed: z.int().optional(),
  now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function').optional(),
  events: streamCounts.optional(),
  range: z
    .strictObject({ start: z.date(), end: z.date() })
    .refine((r) => r.start.getTime() <= r.end.getTime(), 'start must not be after end')
    .optional(),
  siem: z
    .strictObject({
      v1FileFormat: z.enum(['json', 'key_value']).optional(),
      v1EventsPerFile: positiveInt.optional(),
      v2EventsPerFile: positiveInt.optional(),
      batchUrlTtlMs: positiveInt.optional(),
      fileIntervalMs: nonNegativeInt.optional(),
      v1LogTypes: z.array(z.enum(V1_LOG_TYPES)).min(1).optional(),
      v2LogTypes: z.array(z.enum(V2_LOG_TYPES)).min(1).optional(),
      v1UtcOffsets: z
        .partialRecord(
          z.enum(V1_LOG_TYPES),
          z
            .int()
            .min(-14 * 60)
            .max(14 * 60),
        )
        .optional(),
      retentionMs: positiveInt.optional(),
    })
    .optional(),
  threatFeed: z.strictObject({ indicatorsPerFile: positiveInt.optional() }).optional(),
  awareness: z.strictObject({ campaigns: positiveInt.optional() }).optional(),
  variants: variantsSchema.optional(),
  tokenExpiresInSeconds: positiveInt.optional(),
  rateLimit: rateLimitSchema.optional(),
  tokenRateLimit: rateLimitSchema.optional(),
  credentials: z
    .strictObject({
      v1: z
        .strictObject({
          appId: z.string().min(1).optional(),
          appKey: z.string().min(1).optional(),
          accessKey: z
            .string()
            .regex(/^[^:\s]+$/, 'no colon or space')
            .optional(),
          secretKey: z.base64().min(4).optional(),
        })
        .optional(),
      v2: z
        .strictObject({ clientId: z.string().min(1).optional(), clientSecret: z.string().min(1).optional() })
        .optional(),
    })
    .optional(),
  v1BindingExpiresAt: z.number().optional(),
  accountCode: z.string().min(1).optional(),
  maxRecordedRequests: nonNegativeInt.optional(),
  onRequestLog: z.custom<(line: string) => void>((value) => typeof value === 'function').optional(),
}) satisfies z.ZodType<SimulatorOptions>;

export interface ResolvedOptions {
  port: number;
  seed: number;
  now: () => number;
  events: Record<StreamId, number>;
  range: { start: number; end: number };
  siem: Required<Omit<SiemOptions, 'v1UtcOffsets'>> & { v1UtcOffsets: Record<V1LogType, number> };
  threatFeed: { indicatorsPerFile: number };
  awareness: { campaigns: number };
  variants: Required<SimulatorVariants>;
  tokenExpiresInSeconds: number;
  rateLimit?: RateLimitOptions;
  tokenRateLimit: RateLimitOptions;
  credentials: SimulatorOptions['credentials'];
  v1BindingExpiresAt?: number;
  accountCode?: string;
  maxRecordedRequests: number;
  onRequestLog?: (line: string) => void;
}

export class SimulatorOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid simulator options: ${problems.join('; ')}`);
    this.name = 'SimulatorOptionsError';
  }
}

export function resolveOptions(input: SimulatorOptions = {}): ResolvedOptions {
  const parsed = optionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new SimulatorOptionsError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`),
    );
  }
  const options = parsed.data;
  const now = options.now ?? (() => Date.now());
  const at = now();
  const range = options.range
    ? { start: options.range.start.getTime(), end: options.range.end.getTime() }
    : { start: at - 10 * MINUTE_MS - DAY_MS, end: at - 10 * MINUTE_MS };
  return {
    port: options.port ?? 0,
    seed: options.seed ?? 1,
    now,
    events: { ...DEFAULT_EVENTS, ...options.events },
    range,
    siem: {
      v1FileFormat: options.siem?.v1FileFormat ?? 'json',
      v1EventsPerFile: options.siem?.v1EventsPerFile ?? 100,
      v2EventsPerFile: options.siem?.v2EventsPerFile ?? 100,
      batchUrlTtlMs: options.siem?.batchUrlTtlMs ?? 15 * MINUTE_MS,
      fileIntervalMs: options.siem?.fileIntervalMs ?? 30 * MINUTE_MS,
      v1LogTypes: options.siem?.v1LogTypes ?? [...DEFAULT_V1_LOG_TYPES],
      v2LogTypes: options.siem?.v2LogTypes ?? [...V2_LOG_TYPES],
      v1UtcOffsets: { ...DEFAULT_V1_UTC_OFFSETS, ...options.siem?.v1UtcOffsets },
      retentionMs: options.siem?.retentionMs ?? 7 * DAY_MS,
    },
    threatFeed: { indicatorsPerFile: options.threatFeed?.indicatorsPerFile ?? 50 },
    awareness: { campaigns: options.awareness?.campaigns ?? 3 },
    variants: { ...DEFAULT_VARIANTS, ...options.variants },
    tokenExpiresInSeconds: options.tokenExpiresInSeconds ?? 1799,
    rateLimit: options.rateLimit,
    tokenRateLimit: options.tokenRateLimit ?? { capacity: 20, refillPerSecond: 1 / 3 },
    credentials: options.credentials,
    v1BindingExpiresAt: options.v1BindingExpiresAt,
    accountCode: options.accountCode,
    maxRecordedRequests: options.maxRecordedRequests ?? 10_000,
    onRequestLog: options.onRequestLog,
  };
}
