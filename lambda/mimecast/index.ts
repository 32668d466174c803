/**
 * The Mimecast API client: the only code that knows the wire protocol. Other modules call
 * `createMimecastClient(options).source(stream)` and drive the StreamSource it returns.
 *
 * Cursor shapes (opaque to the engine, stored in checkpoints):
 * - window streams and threat feeds: see streams/window-cursor.ts
 * - `siem` on API 1.0: see streams/siem-v1.ts; on API 2.0: see streams/siem-v2.ts
 */
import type { Dispatcher } from 'undici';
import type { Clock, Log } from '../core/ports';
import { silentLog, systemClock } from '../core/ports';
import { STREAM_API_VERSIONS, type StreamId } from '../core/streams';
import { ConfigError, type ConfigProblem } from '../errors';
import { AGENT_DEFAULTS, createAgent, sharedAgent } from '../http/agent';
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy } from '../http/retry';
import type { MimecastCredentials } from '../secrets/credentials';
import { validateMimecastBaseUrl } from '../settings/mimecast-url';
import { TokenProvider, V1Signer } from './auth';
import {
  DEFAULT_CATCH_UP_SLACK_SECONDS,
  DEFAULT_FILE_URL_RELIST_ATTEMPTS,
  DEFAULT_JSON_PAGE_SIZE,
  DEFAULT_LATE_DATA_MINUTES,
  DEFAULT_LATENESS_MARGIN_SECONDS,
  DEFAULT_MAX_JSON_BYTES,
  DEFAULT_MAX_RECORD_CHARS,
  DEFAULT_SIEM_BATCH_PAGE_SIZE,
  DEFAULT_SNAPSHOT_INTERVAL_HOURS,
  DEFAULT_TIMEOUTS,
  MAX_BOUNDARY_IDS,
  MAX_LATE_DATA_IDS,
  MIMECAST_RETRY,
  SIEM_CI_EVENT_TYPES,
  SIEM_V2_EVENT_TYPES,
  type Timeouts,
} from './constants';
import { JSON_ENDPOINTS } from './endpoints';
import type { SourceDeps, StreamSettings } from './streams/common';
import { SiemV1Source } from './streams/siem-v1';
import { SIEM_V2_LISTINGS, SiemV2Source } from './streams/siem-v2';
import { SnapshotSource } from './streams/snapshot';
import { WindowSource } from './streams/window';
import { JsonEndpointApi, ThreatFeedApi } from './streams/window-apis';
import { HttpTransport } from './transport';
import type { MimecastStreamSource } from './types';

export type { CallContext } from './classify';
export { excerpt, retryAfterMs } from './classify';
export * from './constants';
export type { JsonEndpoint, Permission, SnapshotStreamId, WindowStreamId } from './endpoints';
export {
  AWARENESS_CAMPAIGNS_PATH,
  AWARENESS_PERMISSION,
  AWARENESS_USER_DATA_PATH,
  JSON_ENDPOINTS,
  SIEM_CI_BATCH_PATH,
  SIEM_CI_PERMISSION,
  SIEM_PERMISSION,
  SIEM_V2_BATCH_PATH,
  SNAPSHOT_ENDPOINTS,
  THREAT_FEED_PERMISSION,
} from './endpoints';
export type { MimecastHost } from './hosts';
export { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from './hosts';
export { authorizationHeader, mcDate, v1AuthHeaders } from './signing';
export type { MimecastStreamSource } from './types';

export interface MimecastClientOptions {
  /** API 1.0 regional host or API 2.0 host; HTTPS only, plain http allowed for loopback hosts (the simulator). */
  baseUrl: string;
  /** `apiVersion` 1 or 2 decides the protocol. */
  credentials: MimecastCredentials;
  /** undici dispatcher; default: the container's shared keep-alive Agent (lambda/http/agent.ts). */
  dispatcher?: Dispatcher;
  log?: Log;
  /** Data time (windows, token expiry). Signatures and deadlines always use the wall clock. */
  clock?: Clock;
  /** A window's end stays this far behind now (default 300). */
  latenessMarginSeconds?: number;
  /**
   * Per stream, a larger margin than `latenessMarginSeconds` (push-primary streams trail push by it:
   * docs/PUSH-GAP-FILL.md, "The pull runs behind push"). A smaller one is ignored.
   */
  streamMarginSeconds?: Partial<Record<StreamId, number>>;
  /**
   * Window streams ask each span of event time again once it is this old, for events Mimecast made
   * visible late (default 60; 0, or at most the lateness margin, = no second pass). streams/late-data.ts.
   */
  lateDataMinutes?: number;
  /** A finished window reports caught up only if the next one would add less than this (default 60). */
  catchUpSlackSeconds?: number;
  pageSizes?: {
    /** Records per page on the post-REST JSON endpoints (default 500). */
    json?: number;
    /** Batch files per API 2.0 SIEM listing page, `siem` and `siem-ci` (default 100). */
    siemBatch?: number;
  };
  /** Retries of 5xx, timeouts, resets, retryable fail[] within one call (defaults: MIMECAST_RETRY). */
  retry?: RetryOptions;
  /** Headers and body-idle timeouts apply per request; connect is the Agent's (defaults: DEFAULT_TIMEOUTS). */
  timeouts?: Partial<Timeouts>;
  /** API 1.0 SIEM file format to ask for (default `json`; both are decoded either way). */
  siemFileFormat?: 'json' | 'key_value';
  /** API 2.0 SIEM event types to list (default: all ten Cloud Gateway types). */
  siemTypes?: readonly string[];
  /** API 2.0 Cloud Integrated SIEM event types to list for `siem-ci` (default: entities, mailflow, urlclick). */
  siemCiTypes?: readonly string[];
  /** Hours between two Awareness Training snapshots (default 24). */
  snapshotIntervalHours?: number;
  /**
   * Limits: JSON answers read whole, one record, boundary ids per cursor, ids remembered per stream for
   * the late-data re-check, re-listings of expired file URLs.
   */
  limits?: {
    maxJsonBytes?: number;
    maxRecordChars?: number;
    maxBoundaryIds?: number;
    maxLateDataIds?: number;
    fileUrlRelistAttempts?: number;
  };
}

export interface MimecastClient {
  /** The same instance for a stream every time (it remembers e.g. which archive-search path works). */
  source(stream: StreamId): MimecastStreamSource;
}

export function createMimecastClient(options: MimecastClientOptions): MimecastClient {
  const apiVersion = options.credentials.apiVersion;
  // The credentials go wherever the base URL points: only to Mimecast itself (or the loopback
  // simulator). The settings' one rule decides; callers holding a parsed MimecastBaseUrl pass it.
  const checked = validateMimecastBaseUrl(options.baseUrl, apiVersion);
  if (!checked.ok) {
    throw new ConfigError('Mimecast base URL', [{ field: 'baseUrl', problem: checked.problem }]);
  }
  const base = new URL(checked.value);
  const { settings, retry } = resolveSettings(options);
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const log = options.log ?? silentLog;
  const clock = options.clock ?? systemClock;
  const transport = new HttpTransport({
    dispatcher:
      options.dispatcher ??
      (timeouts.connectMs === AGENT_DEFAULTS.connectTimeoutMs
        ? sharedAgent()
        : createAgent({ connectTimeoutMs: timeouts.connectMs })),
    timeouts,
    retry,
    log,
  });
  const credentials = options.credentials;
  transport.setAuthenticator(
    credentials.apiVersion === 1
      ? new V1Signer(credentials)
      : new TokenProvider(transport, base, credentials, clock),
  );
  const deps: SourceDeps = { transport, base, apiVersion: credentials.apiVersion, clock, log, settings };

  const sources = new Map<StreamId, MimecastStreamSource>();
  return {
    source(stream: StreamId): MimecastStreamSource {
      let source = sources.get(stream);
      if (!source) {
        source = createSource(depsFor(deps, stream, options.streamMarginSeconds?.[stream]), stream);
        sources.set(stream, source);
      }
      return source;
    },
  };
}

/** The stream's own deps when it trails further behind now than the client's margin. */
function depsFor(deps: SourceDeps, stream: StreamId, marginSeconds: number | undefined): SourceDeps {
  if (marginSeconds === undefined) return deps;
  if (!Number.isSafeInteger(marginSeconds) || marginSeconds < 0) {
    throw new ConfigError('Mimecast client options', [
      { field: `streamMarginSeconds.${stream}`, problem: 'must be a non-negative integer' },
    ]);
  }
  const latenessMarginMs = Math.max(deps.settings.latenessMarginMs, marginSeconds * 1000);
  // The late-data pass is for events visible later than the margin: none when it waits as long.
  const lateDataMs = deps.settings.lateDataMs <= latenessMarginMs ? 0 : deps.settings.lateDataMs;
  return { ...deps, settings: { ...deps.settings, latenessMarginMs, lateDataMs } };
}

function createSource(deps: SourceDeps, stream: StreamId): MimecastStreamSource {
  if (!STREAM_API_VERSIONS[stream]?.includes(deps.apiVersion)) {
    throw new ConfigError('stream list', [
      {
        field: 'stream',
        problem: `stream "${String(stream)}" is not served by API ${deps.apiVersion}.0; use API 2.0 credentials or leave it out`,
      },
    ]);
  }
  switch (stream) {
    case 'siem':
      return deps.apiVersion === 1 ? new SiemV1Source(deps) : new SiemV2Source(deps);
    case 'siem-ci':
      return new SiemV2Source(deps, SIEM_V2_LISTINGS['siem-ci']);
    case 'awareness-performance':
    case 'awareness-safescore':
    case 'awareness-watchlist':
    case 'awareness-user-data':
      return new SnapshotSource(deps, stream);
    case 'malware-customer':
    case 'malware-grid':
      return new WindowSource(deps, new ThreatFeedApi(deps, stream));
    default: {
      const endpoint = JSON_ENDPOINTS[stream];
      if (!endpoint) {
        throw new ConfigError('stream list', [
          { field: 'stream', problem: `unknown stream "${String(stream)}"` },
        ]);
      }
      return new WindowSource(deps, new JsonEndpointApi(deps, endpoint));
    }
  }
}

function resolveSettings(options: MimecastClientOptions): { settings: StreamSettings; retry: RetryPolicy } {
  const problems: ConfigProblem[] = [];
  const positive = (
    field: string,
    value: number | undefined,
    fallback: number,
    allowZero = false,
  ): number => {
    if (value === undefined) {
      return fallback;
    }
    if (!Number.isFinite(value) || value < (allowZero ? 0 : 1) || !Number.isInteger(value)) {
      problems.push({ field, problem: `must be a ${allowZero ? 'non-negative' : 'positive'} integer` });
    }
    return value;
  };
  const settings: StreamSettings = {
    latenessMarginMs:
      positive(
        'latenessMarginSeconds',
        options.latenessMarginSeconds,
        DEFAULT_LATENESS_MARGIN_SECONDS,
        true,
      ) * 1000,
    lateDataMs:
      positive('lateDataMinutes', options.lateDataMinutes, DEFAULT_LATE_DATA_MINUTES, true) * 60_000,
    maxLateDataIds: positive('limits.maxLateDataIds', options.limits?.maxLateDataIds, MAX_LATE_DATA_IDS),
    catchUpSlackMs:
      positive('catchUpSlackSeconds', options.catchUpSlackSeconds, DEFAULT_CATCH_UP_SLACK_SECONDS, true) *
      1000,
    jsonPageSize: positive('pageSizes.json', options.pageSizes?.json, DEFAULT_JSON_PAGE_SIZE),
    siemBatchPageSize: positive(
      'pageSizes.siemBatch',
      options.pageSizes?.siemBatch,
      DEFAULT_SIEM_BATCH_PAGE_SIZE,
    ),
    maxJsonBytes: positive('limits.maxJsonBytes', options.limits?.maxJsonBytes, DEFAULT_MAX_JSON_BYTES),
    maxRecordChars: positive(
      'limits.maxRecordChars',
      options.limits?.maxRecordChars,
      DEFAULT_MAX_RECORD_CHARS,
    ),
    maxBoundaryIds: positive('limits.maxBoundaryIds', options.limits?.maxBoundaryIds, MAX_BOUNDARY_IDS),
    fileUrlRelistAttempts: positive(
      'limits.fileUrlRelistAttempts',
      options.limits?.fileUrlRelistAttempts,
      DEFAULT_FILE_URL_RELIST_ATTEMPTS,
      true,
    ),
    siemFileFormat: options.siemFileFormat ?? 'json',
    siemTypes: options.siemTypes ?? SIEM_V2_EVENT_TYPES,
    siemCiTypes: options.siemCiTypes ?? SIEM_CI_EVENT_TYPES,
    snapshotIntervalMs:
      positive('snapshotIntervalHours', options.snapshotIntervalHours, DEFAULT_SNAPSHOT_INTERVAL_HOURS) *
      3_600_000,
  };
  if (settings.lateDataMs <= settings.latenessMarginMs) {
    // The first pass already waits that long behind now: a second pass would find nothing more.
    settings.lateDataMs = 0;
  }
  if (settings.siemTypes.length === 0) {
    problems.push({ field: 'siemTypes', problem: 'must list at least one event type' });
  }
  if (settings.siemCiTypes.length === 0) {
    problems.push({ field: 'siemCiTypes', problem: 'must list at least one event type' });
  }
  const retry = resolveRetryPolicy(MIMECAST_RETRY, options.retry, problems);
  if (problems.length > 0) {
    throw new ConfigError('Mimecast client options', problems);
  }
  return { settings, retry };
}
