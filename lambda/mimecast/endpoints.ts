/**
 * Per-endpoint facts for the time-window streams (docs/mimecast-api.md B.2–B.9): paths, request field names,
 * where the records are, which field holds the time, the look-back limit, and the permission needed.
 */
import type { Json } from '../core/json';
import type { StreamId } from '../core/streams';
import { AUDIT_MAX_LOOKBACK_DAYS } from './constants';

export type WindowStreamId = Exclude<
  StreamId,
  | 'siem'
  | 'malware-customer'
  | 'malware-grid'
  | 'siem-ci'
  | 'awareness-performance'
  | 'awareness-safescore'
  | 'awareness-user-data'
  | 'awareness-watchlist'
>;

export interface Permission {
  /** API 1.0: the service user's role permission. */
  v1: string;
  /** API 2.0: the product the API application must include. */
  v2: string;
}

export interface JsonEndpoint {
  stream: WindowStreamId;
  /** Tried in order; a 404 moves to the next one, and the one that worked is remembered. */
  paths: readonly string[];
  startField: string;
  endField: string;
  /** Fixed filters sent with every request. */
  extra: Record<string, Json>;
  /** `null`: the records are `data[]` itself; otherwise `data[0].<key>`. */
  recordsKey: string | null;
  /** Candidate time fields, first valid one wins. */
  timeFields: readonly string[];
  /** Log type of a record. */
  logType: (record: Record<string, unknown>) => string;
  maxLookbackDays?: number;
  permission: Permission;
}

const CG_PRODUCT = 'Threats, Security Events and Data for CG';

export const JSON_ENDPOINTS: Record<WindowStreamId, JsonEndpoint> = {
  audit: {
    stream: 'audit',
    paths: ['/api/audit/get-audit-events'],
    startField: 'startDateTime',
    endField: 'endDateTime',
    extra: {},
    recordsKey: null,
    timeFields: ['eventTime'],
    logType: (record) =>
      typeof record.category === 'string' && record.category !== '' ? record.category : 'audit',
    maxLookbackDays: AUDIT_MAX_LOOKBACK_DAYS,
    permission: { v1: 'Account | Logs | Read', v2: 'Audit Events' },
  },
  'ttp-url': {
    stream: 'ttp-url',
    paths: ['/api/ttp/url/get-logs'],
    startField: 'from',
    endField: 'to',
    extra: { route: 'all', scanResult: 'all', oldestFirst: false },
    recordsKey: 'clickLogs',
    timeFields: ['date'],
    logType: () => 'url protect',
    permission: { v1: 'Monitoring | URL Protection | Read', v2: CG_PRODUCT },
  },
  'ttp-attachment': {
    stream: 'ttp-attachment',
    paths: ['/api/ttp/attachment/get-logs'],
    startField: 'from',
    endField: 'to',
    extra: { route: 'all', result: 'all', oldestFirst: false },
    recordsKey: 'attachmentLogs',
    timeFields: ['date'],
    logType: () => 'attachment protect',
    permission: { v1: 'Monitoring | Attachment Protection | Read', v2: CG_PRODUCT },
  },
  'ttp-impersonation': {
    stream: 'ttp-impersonation',
    paths: ['/api/ttp/impersonation/get-logs'],
    startField: 'from',
    endField: 'to',
    extra: { oldestFirst: false },
    recordsKey: 'impersonationLogs',
    timeFields: ['eventTime'],
    logType: () => 'impersonation protect',
    permission: { v1: 'Monitoring | Impersonation Protection | Read', v2: CG_PRODUCT },
  },
  dlp: {
    stream: 'dlp',
    paths: ['/api/dlp/get-logs'],
    startField: 'from',
    endField: 'to',
    extra: { oldestFirst: false },
    recordsKey: 'dlpLogs',
    timeFields: ['eventTime'],
    logType: () => 'dlp',
    permission: { v1: 'Monitoring | Data Leak Prevention | Read', v2: CG_PRODUCT },
  },
  'held-release': {
    stream: 'held-release',
    paths: ['/api/gateway/get-held-release-logs'],
    startField: 'start',
    endField: 'end',
    extra: {},
    recordsKey: 'heldReleaseLogs',
    timeFields: ['released'],
    logType: () => 'held release',
    permission: { v1: 'Monitoring | Held | Read', v2: CG_PRODUCT },
  },
  'archive-search': {
    stream: 'archive-search',
    // Which path is live is UNCERTAIN (docs/mimecast-api.md B.8): Elastic calls the first, the docs show the second.
    paths: ['/api/archive/get-archive-search-logs', '/api/archive/get-search-logs'],
    startField: 'start',
    endField: 'end',
    extra: {},
    recordsKey: 'logs',
    timeFields: ['createTime'],
    logType: () => 'archive search',
    permission: { v1: 'Archive | Search Logs | Read', v2: 'Archive' },
  },
};

export const SIEM_V1_PATH = '/api/audit/get-siem-logs';
export const SIEM_V2_BATCH_PATH = '/siem/v1/batch/events/cg';
export const SIEM_CI_BATCH_PATH = '/siem/v1/batch/events/ci';
export const THREAT_FEED_PATH = '/api/ttp/threat-intel/get-feed';
/**
 * get-feed's `fail[]` code (in an HTTP 200) for a request with nothing (more) in its window: "caught up",
 * not a failure (elastic/integrations PR #12937).
 */
export const THREAT_FEED_NO_RESULT_CODE = 'err_threat_intel_feed_no_result_found';

export const SIEM_PERMISSION: Permission = {
  v1: 'Gateway | Tracking | Read (and Enhanced Logging enabled for each log type)',
  v2: CG_PRODUCT,
};
export const THREAT_FEED_PERMISSION: Permission = {
  v1: 'Services | Gateway | Tracking | Read (and the threat intelligence feed enabled)',
  v2: CG_PRODUCT,
};

/**
 * Cloud Integrated tenants make their API 2.0 applications in their own console (Email Security Cloud
 * Integrated, Integrations | API 2.0 Applications); a Cloud Gateway application cannot read these.
 */
export const SIEM_CI_PERMISSION =
  'an API 2.0 application made in Email Security Cloud Integrated (Integrations | API 2.0 Applications) with its SIEM events product';

/** The API 2.0 application's role needs this permission for every Awareness Training endpoint. */
export const AWARENESS_PERMISSION = 'Awareness Training | Dashboard | Read';

export type SnapshotStreamId = Extract<
  StreamId,
  'awareness-performance' | 'awareness-safescore' | 'awareness-user-data' | 'awareness-watchlist'
>;

/**
 * Awareness Training snapshot endpoints (docs/mimecast-api.md H; request and record shapes as Sentinel's MimecastAT
 * connector reads them): POST, `meta.pagination` paging, the records directly in `data[]`.
 */
export interface SnapshotEndpoint {
  path: string;
  /** Sent as `data[0]`; none when undefined. */
  item?: Record<string, Json>;
  /** Log type of every record. */
  logType: string;
}

export const SNAPSHOT_ENDPOINTS: Record<
  Exclude<SnapshotStreamId, 'awareness-user-data'>,
  SnapshotEndpoint
> = {
  'awareness-performance': {
    path: '/api/awareness-training/company/get-performance-details',
    item: { includeUserDetails: true },
    logType: 'performance details',
  },
  'awareness-safescore': {
    path: '/api/awareness-training/company/get-safe-score-details',
    logType: 'safe score details',
  },
  'awareness-watchlist': {
    path: '/api/awareness-training/company/get-watchlist-details',
    logType: 'watchlist details',
  },
};

/** Phishing campaigns (`data[]`, each with `id` and `name`), then per campaign its users (`data[0].items`). */
export const AWARENESS_CAMPAIGNS_PATH = '/api/awareness-training/phishing/campaign/get-campaign';
export const AWARENESS_USER_DATA_PATH = '/api/awareness-training/phishing/campaign/get-user-data';
export const AWARENESS_USER_DATA_LOG_TYPE = 'phishing user data';
