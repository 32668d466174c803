/**
 * Environment variables (names in env-names.ts) to a typed, validated configuration. Every
 * problem is collected and reported together in one ConfigError, so one deploy fixes them all.
 *
 * The validators are exported on their own so the command-line tool checks its flags with the
 * same rules. They never echo a URL whole (a URL may carry credentials by mistake); other values
 * are not secrets (design.md: the environment never holds one) and are quoted, shortened.
 */
import * as z from 'zod';
import { isStreamId, STREAM_API_VERSIONS, STREAM_IDS, type StreamId, streamsFor } from './core/streams';
import { ENV } from './env-names';
import { ConfigError, type ConfigProblem } from './errors';
import { SIEM_CI_EVENT_TYPES, SIEM_V2_EVENT_TYPES } from './mimecast/constants';
import { MIMECAST_V1_HOSTS, MIMECAST_V2_HOSTS } from './mimecast/hosts';
import { pathSecret } from './sinks/endpoint';
import { parseFileUrl } from './sinks/file';
import { CLI_ONLY_FORMATS, SINK_FORMATS, type SinkFormat } from './sinks/format';
import { parseS3Url } from './sinks/s3';
import { isLoopbackHost, isSecureOrLoopback, LOOPBACK_HOSTS } from './url-rules';

export { SINK_FORMATS, type SinkFormat };
export type ApiVersion = 1 | 2;

/** What one tick needs, wherever it runs (the Lambda, or the command line with its flags). */
export interface CollectorSettings {
  /** Collector instance id ([a-z0-9-], at most 40): checkpoint key prefix, metric dimension, KMS context. */
  instance: string;
  apiVersion: ApiVersion;
  /** Origin only, no trailing slash: `https://eu-api.mimecast.com`. */
  mimecastBaseUrl: string;
  /** Streams to collect, in the order given (default: every stream the API version serves). */
  streams: StreamId[];
  /** Where a stream collected for the first time starts; undefined = the engine's default (now). */
  collectionStart?: Date;
  sinkUrl: string;
  sinkFormat: SinkFormat;
  // --- issue 14 (destinations): Splunk indexer acknowledgement -------------------------------
  /** splunk-hec: poll each post's ackId at /services/collector/ack before the batch counts (HEC_ACK, --hec-ack). */
  hecAck?: boolean;
  // --- end issue 14 ----------------------------------------------------------------------------
  /** Seconds a time window stays open behind now, so late-indexed Mimecast events are not skipped. */
  latenessMarginSeconds: number;
  /**
   * Minutes after which window streams ask each span of event time once more, for events Mimecast made
   * visible later than the margin (mimecast/streams/late-data.ts); 0 (or at most the margin) = never.
   */
  lateDataMinutes: number;
  /** Pages one stream may fetch in one tick. */
  maxPagesPerTick: number;
  /** Events per sink batch. */
  batchMaxEvents: number;
  /** Serialized bytes per sink batch (before compression). */
  batchMaxBytes: number;
  /** Records per page asked of the post-REST JSON endpoints (audit, TTP, DLP, ..., Awareness Training). */
  jsonPageSize: number;
  /** Batch files per page asked of the API 2.0 SIEM listings (`siem`, `siem-ci`). */
  siemBatchPageSize: number;
  /** API 2.0 Cloud Gateway SIEM event types `siem` lists (API 1.0 files carry every type). */
  siemEventTypes: string[];
  /** API 2.0 Cloud Integrated SIEM event types `siem-ci` lists. */
  siemCiEventTypes: string[];
  /** Hours between two Awareness Training snapshots. */
  awarenessSnapshotHours: number;
}

/** The function's configuration: the settings plus where its AWS resources are. */
export interface LambdaConfig extends CollectorSettings {
  /** Secrets Manager secret ARN (or name, for local runs). */
  secretArn: string;
  /** DynamoDB table name or ARN. */
  checkpointTable: string;
  /** Lag alarm threshold of each configured stream, seconds: a stream beyond it counts in StreamsLagging. */
  lagAlarmSeconds: Partial<Record<StreamId, number>>;
}

export interface NumberBounds {
  default: number;
  min: number;
  max: number;
}

/** Defaults and inclusive bounds of the optional numeric settings. */
export const NUMERIC_SETTINGS = {
  /** 5 minutes (mimecast/constants.ts); at most a day, the v2 streaming retention. */
  latenessMarginSeconds: { default: 300, min: 0, max: 86_400 },
  /** 60 minutes (mimecast/constants.ts, where the reasons are); at most a day, like the margin. */
  lateDataMinutes: { default: 60, min: 0, max: 1_440 },
  /** The engine's defaults (core/engine.ts DEFAULT_LIMITS, where the reasons are); the bounds keep a tick's calls and memory sane. */
  maxPagesPerTick: { default: 100, min: 1, max: 1_000 },
  batchMaxEvents: { default: 5_000, min: 1, max: 50_000 },
  /** At most 10 MiB: small Amazon OpenSearch domains refuse larger requests, and batches are held in memory. */
  batchMaxBytes: { default: 4 * 1024 * 1024, min: 1_024, max: 10 * 1024 * 1024 },
  /** What Sentinel and XSOAR ask; at most 500, the largest page size known to be accepted (mimecast/constants.ts). */
  jsonPageSize: { default: 500, min: 1, max: 500 },
  /** SEKOIA's and Gravwell's 100 files a page; at most 100, the largest known to be accepted. */
  siemBatchPageSize: { default: 100, min: 1, max: 100 },
  /** Daily, as Sentinel reads these; at least hourly, at most weekly. */
  awarenessSnapshotHours: { default: 24, min: 1, max: 168 },
} as const satisfies Record<string, NumberBounds>;

export type Check<T> = { ok: true; value: T } | { ok: false; problem: string };

// ---------------------------------------------------------------------------------------------
// Hosts

export interface KnownMimecastHost {
  host: string;
  apiVersion: ApiVersion;
  region: string;
}

/**
 * Mimecast API hosts the collector may call: the one list in mimecast/hosts.ts, by host name.
 * `api.mimecast.com` is not among them on purpose: it only answers discover-authentication.
 */
export const KNOWN_MIMECAST_HOSTS: readonly KnownMimecastHost[] = [
  ...MIMECAST_V1_HOSTS.map((h) => ({
    host: new URL(h.baseUrl).hostname,
    apiVersion: 1 as const,
    region: h.description,
  })),
  ...MIMECAST_V2_HOSTS.map((h) => ({
    host: new URL(h.baseUrl).hostname,
    apiVersion: 2 as const,
    region: h.description,
  })),
];

export const MIMECAST_V1_HOSTNAMES: readonly string[] = KNOWN_MIMECAST_HOSTS.filter(
  (h) => h.apiVersion === 1,
).map((h) => h.host);
export const MIMECAST_V2_HOSTNAMES: readonly string[] = KNOWN_MIMECAST_HOSTS.filter(
  (h) => h.apiVersion === 2,
).map((h) => h.host);
const DISCOVERY_HOST = 'api.mimecast.com';

// ---------------------------------------------------------------------------------------------
// Validators (shared with the command-line tool)

/**
 * An instance id ends up in the stack name, KMS alias, alarm and dashboard names, metric dimensions
 * and the KMS encryption context: lower-case letters, digits and inner hyphens are valid in all of
 * them, and 32 characters keep the longest derived name inside the CloudFormation, KMS and
 * CloudWatch limits.
 */
export const INSTANCE_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const INSTANCE_MAX_LENGTH = 32;

export function validateInstanceId(text: string | undefined): Check<string> {
  const value = (text ?? '').trim();
  if (value === '')
    return fail('is not set; expected a collector instance id such as "prod" or "eu-tenant-1"');
  if (value.length > INSTANCE_MAX_LENGTH) {
    return fail(`is ${value.length} characters long; at most ${INSTANCE_MAX_LENGTH} are allowed`);
  }
  if (!INSTANCE_PATTERN.test(value)) {
    return fail(
      `${quote(value)} is not a safe id; use lower-case letters, digits and inner hyphens only (e.g. "prod-eu")`,
    );
  }
  return { ok: true, value };
}

export function parseApiVersion(text: string | undefined): Check<ApiVersion> {
  const value = (text ?? '').trim();
  if (value === '1' || value === '2') return { ok: true, value: Number(value) as ApiVersion };
  return fail(
    `${value === '' ? 'is not set' : `${quote(value)} is not supported`}; expected 1 (API 1.0, HMAC keys) or 2 (API 2.0, OAuth2 client credentials)`,
  );
}

/**
 * A Mimecast base URL: HTTPS on a known Mimecast host (or any loopback host, HTTP or HTTPS),
 * origin only. With `apiVersion`, the host must also serve that API version.
 * Returns the normalised origin (`https://eu-api.mimecast.com`).
 */
export function validateMimecastBaseUrl(text: string | undefined, apiVersion?: ApiVersion): Check<string> {
  const parsed = parseUrl(text, 'a Mimecast API base URL such as https://eu-api.mimecast.com');
  if (!parsed.ok) return parsed;
  const url = parsed.value;
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return fail(`must be the host only (like https://${url.hostname}), without a path, query or fragment`);
  }
  if (isLoopbackHost(url.hostname)) return { ok: true, value: url.origin };
  const host = url.hostname.toLowerCase();
  const known = KNOWN_MIMECAST_HOSTS.find((h) => h.host === host);
  if (host === DISCOVERY_HOST) {
    return fail(
      `${host} only answers discover-authentication; use your region's API host (${MIMECAST_V1_HOSTNAMES.slice(0, 3).join(', ')}, ...) or, for API 2.0, ${MIMECAST_V2_HOSTNAMES[0]}`,
    );
  }
  if (known === undefined) {
    return fail(
      `host ${quote(host)} is not a Mimecast API host; expected one of ${KNOWN_MIMECAST_HOSTS.map((h) => h.host).join(', ')} (or a loopback host for the simulator)`,
    );
  }
  if (url.port !== '') return fail(`Mimecast serves HTTPS on the default port 443; remove :${url.port}`);
  if (apiVersion !== undefined && known.apiVersion !== apiVersion) {
    const expected =
      apiVersion === 2
        ? MIMECAST_V2_HOSTNAMES.join(' or ')
        : `your region's host (${MIMECAST_V1_HOSTNAMES.join(', ')})`;
    return fail(
      `${host} serves API ${known.apiVersion}.0, but API ${apiVersion}.0 is configured; use ${expected}`,
    );
  }
  return { ok: true, value: url.origin };
}

/** The ingestion endpoint: HTTPS (HTTP only on loopback), path and query allowed, no credentials in it. */
export function validateSinkUrl(text: string | undefined, format?: SinkFormat): Check<string> {
  // --- issue 14 (destinations): s3://bucket/prefix --------------------------------------------------
  if (format === 'file') {
    const problems: ConfigProblem[] = [];
    const dir = parseFileUrl(text ?? '', 'url', problems);
    if (dir === undefined) return fail(problems.map((p) => p.problem).join('; '));
    return { ok: true, value: (text ?? '').trim() };
  }
  if (format === 's3') {
    const problems: ConfigProblem[] = [];
    const location = parseS3Url(text ?? '', 'url', problems);
    if (location === undefined) return fail(problems.map((p) => p.problem).join('; '));
    return { ok: true, value: `s3://${location.bucket}/${location.prefix}` };
  }
  // --- end issue 14 ---------------------------------------------------------------------------------
  const parsed = parseUrl(
    text,
    'the ingestion endpoint, e.g. https://splunk.example.com:8088/services/collector/event',
  );
  if (!parsed.ok) return parsed;
  if (parsed.value.hash !== '') return fail('must not contain a #fragment (it is never sent to the server)');
  return { ok: true, value: parsed.value.href };
}

/**
 * A comma-separated list of stream ids; empty or unset means every stream (of `apiVersion`, when
 * given: the API 2.0-only streams are left out of an API 1.0 default rather than refused, so the
 * default works on both versions). Whether a listed stream is served is `unservedStreams`.
 */
export function parseStreamList(text: string | undefined, apiVersion?: ApiVersion): Check<StreamId[]> {
  const items = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) return { ok: true, value: apiVersion ? streamsFor(apiVersion) : [...STREAM_IDS] };
  const unknown = items.filter((s) => !(STREAM_IDS as readonly string[]).includes(s));
  if (unknown.length > 0) {
    return fail(
      `unknown stream${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}; expected a comma-separated list of ${STREAM_IDS.join(', ')} (or empty for all)`,
    );
  }
  // A repeat is harmless (the stream is collected once) and no stack parameter pattern can forbid one,
  // so it is dropped rather than refused: refusing would let a stack deploy that then fails every tick.
  return { ok: true, value: [...new Set(items)] as StreamId[] };
}

/** Listed streams the API version does not serve (siem-ci and the Awareness Training streams on API 1.0). */
export function unservedStreams(streams: readonly StreamId[], apiVersion: ApiVersion): StreamId[] {
  return streams.filter((stream) => !STREAM_API_VERSIONS[stream].includes(apiVersion));
}

/** The problem of listing streams the API version does not serve, naming what to change. */
export function unservedStreamsProblem(
  unserved: readonly StreamId[],
  apiVersion: ApiVersion,
  apiVersionName: string,
): string {
  const list = unserved.map(quote).join(', ');
  return `${list} ${unserved.length > 1 ? 'are' : 'is'} collected over API 2.0 only, but API ${apiVersion}.0 is configured; remove ${unserved.length > 1 ? 'them' : 'it'} from the list, or use API 2.0 credentials and set ${apiVersionName} to 2`;
}

/** Event types known per SIEM listing, for the lists below. */
export const SIEM_EVENT_TYPE_SETS = {
  siem: SIEM_V2_EVENT_TYPES,
  'siem-ci': SIEM_CI_EVENT_TYPES,
} as const;

/**
 * A comma-separated list of API 2.0 SIEM event types (`url protect` has a space inside); empty or
 * unset means every known type. Unknown types are refused here: Mimecast would refuse them on every
 * listing (400) instead.
 */
export function parseEventTypes(text: string | undefined, known: readonly string[]): Check<string[]> {
  const items = (text ?? '')
    .split(',')
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter((s) => s !== '');
  if (items.length === 0) return { ok: true, value: [...known] };
  const unknown = items.filter((s) => !known.includes(s));
  if (unknown.length > 0) {
    return fail(
      `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.map(quote).join(', ')}; expected a comma-separated list of ${known.join(', ')} (or empty for all)`,
    );
  }
  return { ok: true, value: [...new Set(items)] };
}

const START_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|\+00:00|\+0000))?$/;

/**
 * Collection start: ISO-8601 in UTC (`2024-06-01T00:00:00Z`; `+00:00` and fractions accepted, a
 * bare date means midnight UTC). Empty or unset means undefined.
 */
export function parseCollectionStart(text: string | undefined): Check<Date | undefined> {
  const value = (text ?? '').trim();
  if (value === '') return { ok: true, value: undefined };
  const match = START_PATTERN.exec(value);
  const expected = 'expected an ISO-8601 UTC time such as 2024-06-01T00:00:00Z (or empty to start now)';
  if (match === null) return fail(`${quote(value)} is not an ISO-8601 UTC time; ${expected}`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = match;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
  // Date.UTC rolls 2024-02-30 over into March; a real calendar time survives the round trip.
  const valid =
    date.getUTCFullYear() === Number(y) &&
    date.getUTCMonth() === Number(mo) - 1 &&
    date.getUTCDate() === Number(d) &&
    date.getUTCHours() === Number(h) &&
    date.getUTCMinutes() === Number(mi) &&
    date.getUTCSeconds() === Number(s);
  if (!valid) return fail(`${quote(value)} is not a real calendar time; ${expected}`);
  if (Number(y) < 2000)
    return fail(`${quote(value)} is before 2000; Mimecast keeps days, not decades, of logs`);
  return { ok: true, value: date };
}

export function parseSinkFormat(text: string | undefined): Check<SinkFormat> {
  const value = (text ?? '').trim();
  if ((SINK_FORMATS as readonly string[]).includes(value)) return { ok: true, value: value as SinkFormat };
  return fail(
    `${value === '' ? 'is not set' : `${quote(value)} is not supported`}; expected one of ${SINK_FORMATS.join(', ')}`,
  );
}

// --- issue 14 (destinations): Splunk indexer acknowledgement -------------------------------------
/** HEC_ACK / --hec-ack: `true` or `false` (empty or unset: off, left out of the settings). Only splunk-hec. */
export function parseHecAck(
  text: string | undefined,
  format: SinkFormat | undefined,
): Check<true | undefined> {
  const value = (text ?? '').trim().toLowerCase();
  if (value === '' || value === 'false') return { ok: true, value: undefined };
  if (value !== 'true') return fail(`${quote(value)} is not true or false`);
  if (format !== undefined && format !== 'splunk-hec') {
    return fail(`is for --sink-format splunk-hec (indexer acknowledgement); the format is ${format}`);
  }
  return { ok: true, value: true };
}

function hasSumoToken(sinkUrl: string): boolean {
  try {
    return pathSecret(new URL(sinkUrl)) !== undefined;
  } catch {
    return false;
  }
}
// --- end issue 14 ------------------------------------------------------------------------------

const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export function validateSecretId(text: string | undefined): Check<string> {
  const value = (text ?? '').trim();
  if (value === '') return fail('is not set; expected the ARN of the credentials secret (the stack sets it)');
  if (value.startsWith('arn:') ? !SECRET_ARN_PATTERN.test(value) : !SECRET_NAME_PATTERN.test(value)) {
    return fail(
      `${quote(value)} is neither a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) nor a secret name`,
    );
  }
  return { ok: true, value };
}

const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN_PATTERN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/;

export function validateTableName(text: string | undefined): Check<string> {
  const value = (text ?? '').trim();
  if (value === '')
    return fail('is not set; expected the DynamoDB checkpoint table name (the stack sets it)');
  if (!TABLE_NAME_PATTERN.test(value) && !TABLE_ARN_PATTERN.test(value)) {
    return fail(`${quote(value)} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -) or table ARN`);
  }
  return { ok: true, value };
}

/** Bounds of a lag alarm threshold: a minute to a year. */
export const LAG_ALARM_SECONDS_BOUNDS = { min: 60, max: 365 * 86_400 } as const;

/**
 * LAG_ALARM_SECONDS, as the stack writes it from its per-stream thresholds: `siem=7200,audit=86400`.
 * The function judges each stream's lag against its own threshold, so one metric (StreamsLagging)
 * serves every stream.
 */
export function formatLagAlarmSeconds(seconds: Partial<Record<StreamId, number>>): string {
  return STREAM_IDS.filter((stream) => seconds[stream] !== undefined)
    .map((stream) => `${stream}=${seconds[stream]}`)
    .join(',');
}

/** LAG_ALARM_SECONDS back into thresholds; every stream in `required` must have one. */
export function parseLagAlarmSeconds(
  text: string | undefined,
  required: readonly StreamId[],
): Check<Partial<Record<StreamId, number>>> {
  const value = (text ?? '').trim();
  const expected = `expected <stream>=<seconds> pairs separated by commas, e.g. siem=7200,audit=86400 (the stack sets it)`;
  if (value === '') return fail(`is not set; ${expected}`);
  const seconds: Partial<Record<StreamId, number>> = {};
  const { min, max } = LAG_ALARM_SECONDS_BOUNDS;
  for (const pair of value.split(',')) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*(\d+)\s*$/.exec(pair);
    if (match === null) return fail(`${quote(pair.trim())} is not a <stream>=<seconds> pair; ${expected}`);
    const [, stream, number] = match as unknown as [string, string, string];
    if (!isStreamId(stream)) return fail(`unknown stream ${quote(stream)}; ${expected}`);
    if (seconds[stream] !== undefined) return fail(`${stream} is given twice; ${expected}`);
    const n = Number(number);
    if (n < min || n > max)
      return fail(`${stream}=${number} is out of range; expected ${min} to ${max} seconds`);
    seconds[stream] = n;
  }
  const missing = required.filter((stream) => seconds[stream] === undefined);
  if (missing.length > 0) return fail(`has no threshold for ${missing.join(', ')}; ${expected}`);
  return { ok: true, value: seconds };
}

/** An optional whole number within bounds; unset or empty gives the default. */
export function parseBoundedInteger(text: string | undefined, bounds: NumberBounds): Check<number> {
  const value = (text ?? '').trim();
  if (value === '') return { ok: true, value: bounds.default };
  const range = `a whole number from ${bounds.min} to ${bounds.max} (default ${bounds.default})`;
  if (!/^\d+$/.test(value)) return fail(`${quote(value)} is not a whole number; expected ${range}`);
  const n = Number(value);
  if (n < bounds.min || n > bounds.max) return fail(`${value} is out of range; expected ${range}`);
  return { ok: true, value: n };
}

// ---------------------------------------------------------------------------------------------
// Whole configurations

/** Raw text of each setting, by CollectorSettings field name. */
export type SettingsInput = Partial<Record<keyof CollectorSettings, string | undefined>>;
/** How each setting is called in messages: an environment variable, a command-line flag... */
export type SettingNames = Record<keyof CollectorSettings, string>;

/** The environment variable of each setting. */
export const SETTINGS_ENV_NAMES: SettingNames = {
  instance: ENV.instance,
  apiVersion: ENV.apiVersion,
  mimecastBaseUrl: ENV.mimecastBaseUrl,
  streams: ENV.streams,
  collectionStart: ENV.collectionStart,
  sinkUrl: ENV.sinkUrl,
  sinkFormat: ENV.sinkFormat,
  hecAck: ENV.hecAck,
  latenessMarginSeconds: ENV.latenessMarginSeconds,
  lateDataMinutes: ENV.lateDataMinutes,
  maxPagesPerTick: ENV.maxPagesPerTick,
  batchMaxEvents: ENV.batchMaxEvents,
  batchMaxBytes: ENV.batchMaxBytes,
  jsonPageSize: ENV.jsonPageSize,
  siemBatchPageSize: ENV.siemBatchPageSize,
  siemEventTypes: ENV.siemEventTypes,
  siemCiEventTypes: ENV.siemCiEventTypes,
  awarenessSnapshotHours: ENV.awarenessSnapshotHours,
};

type Collected<T> = { [K in keyof T]: T[K] | undefined };

function collectSettings(
  input: SettingsInput,
  names: SettingNames,
  problems: ConfigProblem[],
): Collected<Required<CollectorSettings>> {
  const take = <T>(field: keyof CollectorSettings, check: Check<T>): T | undefined => {
    if (check.ok) return check.value;
    problems.push({ field: names[field], problem: check.problem });
    return undefined;
  };
  const apiVersion = take('apiVersion', parseApiVersion(input.apiVersion));
  const sinkFormat = take('sinkFormat', parseSinkFormat(input.sinkFormat));
  const bounded = (field: keyof typeof NUMERIC_SETTINGS) =>
    take(field, parseBoundedInteger(input[field], NUMERIC_SETTINGS[field]));
  let streams = take('streams', parseStreamList(input.streams, apiVersion));
  const unserved =
    apiVersion === undefined || streams === undefined ? [] : unservedStreams(streams, apiVersion);
  if (apiVersion !== undefined && unserved.length > 0) {
    problems.push({
      field: names.streams,
      problem: unservedStreamsProblem(unserved, apiVersion, names.apiVersion),
    });
    streams = undefined;
  }
  return {
    instance: take('instance', validateInstanceId(input.instance)),
    apiVersion,
    // Checked against the API version only when that one is valid, so one mistake gives one problem.
    mimecastBaseUrl: take('mimecastBaseUrl', validateMimecastBaseUrl(input.mimecastBaseUrl, apiVersion)),
    streams,
    collectionStart: take('collectionStart', parseCollectionStart(input.collectionStart)),
    sinkUrl: take('sinkUrl', validateSinkUrl(input.sinkUrl, sinkFormat)),
    sinkFormat,
    hecAck: take('hecAck', parseHecAck(input.hecAck, sinkFormat)),
    latenessMarginSeconds: take(
      'latenessMarginSeconds',
      parseBoundedInteger(input.latenessMarginSeconds, NUMERIC_SETTINGS.latenessMarginSeconds),
    ),
    lateDataMinutes: take(
      'lateDataMinutes',
      parseBoundedInteger(input.lateDataMinutes, NUMERIC_SETTINGS.lateDataMinutes),
    ),
    maxPagesPerTick: take(
      'maxPagesPerTick',
      parseBoundedInteger(input.maxPagesPerTick, NUMERIC_SETTINGS.maxPagesPerTick),
    ),
    batchMaxEvents: take(
      'batchMaxEvents',
      parseBoundedInteger(input.batchMaxEvents, NUMERIC_SETTINGS.batchMaxEvents),
    ),
    batchMaxBytes: take(
      'batchMaxBytes',
      parseBoundedInteger(input.batchMaxBytes, NUMERIC_SETTINGS.batchMaxBytes),
    ),
    jsonPageSize: bounded('jsonPageSize'),
    siemBatchPageSize: bounded('siemBatchPageSize'),
    siemEventTypes: take('siemEventTypes', parseEventTypes(input.siemEventTypes, SIEM_EVENT_TYPE_SETS.siem)),
    siemCiEventTypes: take(
      'siemCiEventTypes',
      parseEventTypes(input.siemCiEventTypes, SIEM_EVENT_TYPE_SETS['siem-ci']),
    ),
    awarenessSnapshotHours: bounded('awarenessSnapshotHours'),
  };
}

/**
 * The settings from raw texts, for the command line: `names` says how each one is called in
 * problems (e.g. `--sink-url`). Throws one ConfigError listing every problem.
 */
export function parseCollectorSettings(
  input: SettingsInput,
  names: SettingNames = SETTINGS_ENV_NAMES,
  source = 'collector settings',
): CollectorSettings {
  const problems: ConfigProblem[] = [];
  const settings = collectSettings(input, names, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return settingsSchema.parse(settings);
}

/** Reads the function's environment. Throws one ConfigError listing every problem. */
export function parseLambdaConfig(env: Record<string, string | undefined>): LambdaConfig {
  const problems: ConfigProblem[] = [];
  const input = Object.fromEntries(
    Object.entries(SETTINGS_ENV_NAMES).map(([field, name]) => [field, env[name]]),
  ) as SettingsInput;
  const settings = collectSettings(input, SETTINGS_ENV_NAMES, problems);
  const secretArn = validateSecretId(env[ENV.secretArn]);
  if (!secretArn.ok) problems.push({ field: ENV.secretArn, problem: secretArn.problem });
  // --- issue 14 (destinations): the function's environment never holds a Sumo source token ---------
  if (settings.sinkFormat === 'sumo' && settings.sinkUrl !== undefined && hasSumoToken(settings.sinkUrl)) {
    problems.push({
      field: ENV.sinkUrl,
      problem:
        'holds the Sumo Logic source token, which is a credential: end the URL at /receiver/v1/http/ and store the token as the sink token in the secret (`npx mimecast-collector configure`)',
    });
  }
  if (settings.sinkFormat !== undefined && CLI_ONLY_FORMATS.includes(settings.sinkFormat)) {
    problems.push({
      field: ENV.sinkFormat,
      problem: `${settings.sinkFormat} is for the command line (the function has no lasting disk); use s3 or an HTTP format`,
    });
  }
  // --- end issue 14 ------------------------------------------------------------------------------
  const checkpointTable = validateTableName(env[ENV.checkpointTable]);
  if (!checkpointTable.ok) problems.push({ field: ENV.checkpointTable, problem: checkpointTable.problem });
  // Checked against the streams only when those are valid, so one mistake gives one problem.
  const lagAlarmSeconds = parseLagAlarmSeconds(env[ENV.lagAlarmSeconds], settings.streams ?? []);
  if (!lagAlarmSeconds.ok) problems.push({ field: ENV.lagAlarmSeconds, problem: lagAlarmSeconds.problem });
  if (problems.length > 0 || !secretArn.ok || !checkpointTable.ok || !lagAlarmSeconds.ok) {
    throw new ConfigError(
      'function configuration (environment variables)',
      problems,
      'Fix the listed environment variables (set by the stack from its parameters) and deploy again.',
    );
  }
  return {
    ...settingsSchema.parse(settings),
    secretArn: secretArn.value,
    checkpointTable: checkpointTable.value,
    lagAlarmSeconds: lagAlarmSeconds.value,
  };
}

/**
 * With no problem reported every field holds its parsed value; zod states the shape once more so
 * a field added later without its check fails loudly here instead of going out undefined.
 */
const settingsSchema = z.object({
  instance: z.string(),
  apiVersion: z.union([z.literal(1), z.literal(2)]),
  mimecastBaseUrl: z.string(),
  streams: z.array(z.enum(STREAM_IDS)).min(1),
  collectionStart: z.date().optional(),
  sinkUrl: z.string(),
  sinkFormat: z.enum(SINK_FORMATS),
  hecAck: z.boolean().optional(),
  latenessMarginSeconds: z.number().int(),
  lateDataMinutes: z.number().int(),
  maxPagesPerTick: z.number().int(),
  batchMaxEvents: z.number().int(),
  batchMaxBytes: z.number().int(),
  jsonPageSize: z.number().int(),
  siemBatchPageSize: z.number().int(),
  siemEventTypes: z.array(z.string()).min(1),
  siemCiEventTypes: z.array(z.string()).min(1),
  awarenessSnapshotHours: z.number().int(),
});

// ---------------------------------------------------------------------------------------------

function parseUrl(text: string | undefined, what: string): Check<URL> {
  const value = (text ?? '').trim();
  if (value === '') return fail(`is not set; expected ${what}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The text itself is not repeated: a malformed URL may still hold a token.
    return fail(`is not a valid absolute URL; expected ${what}`);
  }
  if (url.username !== '' || url.password !== '') {
    return fail(
      'must not contain a user name or password; credentials belong in the secret (run `npx mimecast-collector configure`)',
    );
  }
  if (!isSecureOrLoopback(url)) {
    return fail(
      `uses ${url.protocol.replace(/:$/, '')}; only https is allowed (plain http only on ${LOOPBACK_HOSTS.join(', ')})`,
    );
  }
  return { ok: true, value: url };
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

/** Quotes a non-secret value for a message, shortened so a pasted blob does not flood the log. */
function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}
