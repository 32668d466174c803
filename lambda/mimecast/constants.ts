import { AGENT_DEFAULTS } from '../http/agent';
import type { RetryPolicy } from '../http/retry';

/**
 * Named limits and defaults of the Mimecast client, in one place. Every value is overridable
 * through `MimecastClientOptions`; these are what the Lambda runs with.
 */

/** Records per page on the post-REST JSON endpoints (audit, TTP, DLP, release, archive). 500 is what XSOAR and Sentinel send; no documented maximum. */
export const DEFAULT_JSON_PAGE_SIZE = 500;
/** Batch files per page on the API 2.0 SIEM listings (`/siem/v1/batch/events/cg` and `/ci`), as SEKOIA and Gravwell use. */
export const DEFAULT_SIEM_BATCH_PAGE_SIZE = 100;
/** Largest page sizes known to be accepted (docs/mimecast-api.md G.4: 500 records on the JSON endpoints; 100 files per batch listing). */
export const MAX_JSON_PAGE_SIZE = 500;
export const MAX_SIEM_BATCH_PAGE_SIZE = 100;

/** Awareness Training snapshots are read this often by default (Sentinel reads them about daily). */
export const DEFAULT_SNAPSHOT_INTERVAL_HOURS = 24;

/** A window's end stays this far behind now, so events Mimecast indexes late still fall inside a later window. */
export const DEFAULT_LATENESS_MARGIN_SECONDS = 300;
/**
 * Window streams ask every span of event time a second time once it is this old, forwarding only the
 * events the first pass did not deliver: an event Mimecast makes visible up to this long after its own
 * time still arrives (streams/late-data.ts). SIEM documents up to 30 minutes; audit and TTP logs are
 * indexed late too (Sentinel's functions wait 15 minutes for them); 60 leaves room. 0 turns it off.
 */
export const DEFAULT_LATE_DATA_MINUTES = 60;
/**
 * Spans of event time re-checked together: one more request (chain) per span whose time the main pass
 * has moved past, so a busy stream costs about one more call per 10 minutes of events.
 */
export const LATE_RECHECK_SPAN_MINUTES = 10;
/**
 * Ids remembered for the late-data re-check over all spans of one stream, 8 characters each (160 KB of
 * the 400 KB DynamoDB item; the boundary ids take up to ~70 KB more). A span past the bound is forwarded
 * again whole by its re-check (its repeats keep their ids), and a warning says so.
 */
export const MAX_LATE_DATA_IDS = 20_000;

/**
 * A finished window reports "caught up" only when the next window would cover less than this much
 * new time; otherwise the engine asks again at once (a checkpoint from an earlier tick is behind).
 */
export const DEFAULT_CATCH_UP_SLACK_SECONDS = 60;

/**
 * Retries of one Mimecast call (5xx, 408, timeouts, resets, retryable `fail[]`): 4 attempts, full-jitter
 * backoff from 250 ms doubling to at most 4 s (lambda/http/retry.ts). An attempt may use all the time
 * left in the budget: SIEM files stream for minutes, their silence bounded by `bodyMs` below. A wait
 * must leave at least a millisecond for the next attempt. A 429 is never retried here (classify.ts).
 */
export const MIMECAST_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 4000,
  jitter: 'full',
  attemptTimeoutMs: undefined,
  minAttemptMs: 1,
  random: () => Math.random(),
};

export interface Timeouts {
  /** TCP + TLS connect: the Agent's (lambda/http/agent.ts); another value gets the client an Agent of its own. */
  connectMs: number;
  /** From request sent to response headers received, set on every request. */
  headersMs: number;
  /** Longest silence between two body chunks, set on every request. */
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: AGENT_DEFAULTS.connectTimeoutMs,
  headersMs: 30_000,
  bodyMs: 60_000,
};

/** When the 429 answer carries no usable reset hint. */
export const DEFAULT_THROTTLE_BACKOFF_MS = 60_000;
/** A reset hint beyond this is treated as this (a misread epoch must not park a stream for days). */
export const MAX_THROTTLE_BACKOFF_MS = 60 * 60_000;

/** Largest JSON answer read whole (JSON pages, threat-feed bundles). Files are streamed instead. */
export const DEFAULT_MAX_JSON_BYTES = 32 * 1024 * 1024;
/** Largest single record (NDJSON line, key_value record, element of a JSON `data` array). */
export const DEFAULT_MAX_RECORD_CHARS = 8 * 1024 * 1024;
/** How much of an error answer is read to find Mimecast's codes. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Excerpts of unexpected bodies in ProtocolError. */
export const EXCERPT_CHARS = 200;

/** Boundary event ids kept in a window cursor; beyond this, repeats are forwarded (their ids make them harmless). */
export const MAX_BOUNDARY_IDS = 1000;

/** API 2.0 SIEM: an expired batch-file URL is re-listed at most this many times per page before giving up. */
export const DEFAULT_FILE_URL_RELIST_ATTEMPTS = 3;

/**
 * API 2.0 SIEM: batch files remembered per event type to drop repeated listings (twice the page size, at
 * most this): about 15 bytes each in the checkpoint, so ten types stay near 150 KB at most.
 */
export const MAX_SEEN_FILES_PER_TYPE = 1000;

/** API 2.0 token: refreshed this long before `expires_in` runs out. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** When the token answer has no `expires_in` (XSOAR assumes the same). */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 1800;

/** Look-back limits Mimecast enforces. */
export const AUDIT_MAX_LOOKBACK_DAYS = 60;
export const SIEM_V2_MAX_LOOKBACK_DAYS = 7;

export { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from './event-types';
