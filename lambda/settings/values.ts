/**
 * Checks of the single-value settings: instance, API version, sink URL and format, collection
 * start, the bounded numbers, and where the function's AWS resources are.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_LIMITS } from '../core/limits';
import type { ConfigProblem } from '../errors';
import {
  DEFAULT_JSON_PAGE_SIZE,
  DEFAULT_LATE_DATA_MINUTES,
  DEFAULT_LATENESS_MARGIN_SECONDS,
  DEFAULT_SIEM_BATCH_PAGE_SIZE,
  DEFAULT_SNAPSHOT_INTERVAL_HOURS,
  MAX_JSON_PAGE_SIZE,
  MAX_SIEM_BATCH_PAGE_SIZE,
} from '../mimecast/constants';
import { DEFAULT_AZURE_AUTHORITY } from '../sinks/entra';
import { parseFileUrl } from '../sinks/file';
import { DEFAULT_RETENTION_DAYS, SINK_FORMATS, type SinkFormat } from '../sinks/format';
import { parseS3Url } from '../sinks/s3';
import { DEFAULT_SYSLOG_MAX_MESSAGE_BYTES, parseSyslogUrl } from '../sinks/syslog-message';
import { type Check, fail, parseUrl, quote } from './check';
import type { ApiVersion } from './mimecast-url';

/** A sink URL (`href`) that passed `validateSinkUrl`: the sink takes it without checking again. */
export type SinkUrl = string & { readonly __brand: 'SinkUrl' };

export interface NumberBounds {
  default: number;
  min: number;
  max: number;
}

/**
 * Defaults and inclusive bounds of the optional numeric settings. Each default is the constant of
 * the layer that uses it, where the reasons are (core/engine.ts DEFAULT_LIMITS, mimecast/constants.ts).
 */
export const NUMERIC_SETTINGS = {
  /** At most a day, the v2 streaming retention. */
  latenessMarginSeconds: { default: DEFAULT_LATENESS_MARGIN_SECONDS, min: 0, max: 86_400 },
  /**
   * Push-primary streams: how far behind now their pull stays, so Event Push has delivered first
   * (docs/PUSH-GAP-FILL.md, "The pull runs behind push"). 15 minutes covers push's own delivery delay and
   * retries; at most a day, like the margin.
   */
  pushTrailSeconds: { default: 900, min: 0, max: 86_400 },
  /** At most a day, like the margin. */
  lateDataMinutes: { default: DEFAULT_LATE_DATA_MINUTES, min: 0, max: 1_440 },
  /** The bounds keep a tick's calls and memory sane. */
  maxPagesPerStream: { default: DEFAULT_LIMITS.maxPagesPerStream, min: 1, max: 1_000 },
  batchMaxEvents: { default: DEFAULT_LIMITS.batchMaxEvents, min: 1, max: 50_000 },
  /** At most 10 MiB: small Amazon OpenSearch domains refuse larger requests, and batches are held in memory. */
  batchMaxBytes: { default: DEFAULT_LIMITS.batchMaxBytes, min: 1_024, max: 10 * 1024 * 1024 },
  jsonPageSize: { default: DEFAULT_JSON_PAGE_SIZE, min: 1, max: MAX_JSON_PAGE_SIZE },
  siemBatchPageSize: { default: DEFAULT_SIEM_BATCH_PAGE_SIZE, min: 1, max: MAX_SIEM_BATCH_PAGE_SIZE },
  /** file destination: days of day files kept; up to ten years. */
  retentionDays: { default: DEFAULT_RETENTION_DAYS, min: 1, max: 3_650 },
  /**
   * syslog: octets of one message; rsyslog's MaxFrameSize by default. At least RFC 5424's 480 plus room
   * for an envelope; at most 10 MiB, the largest batch.
   */
  syslogMaxMessageBytes: { default: DEFAULT_SYSLOG_MAX_MESSAGE_BYTES, min: 2_048, max: 10 * 1024 * 1024 },
  /** At least hourly, at most weekly. */
  awarenessSnapshotHours: { default: DEFAULT_SNAPSHOT_INTERVAL_HOURS, min: 1, max: 168 },
} as const satisfies Record<string, NumberBounds>;

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

/** The ingestion endpoint: HTTPS (HTTP only on loopback), path and query allowed, no credentials in it. */
export function validateSinkUrl(text: string | undefined): Check<SinkUrl> {
  // The destinations that are not HTTP: s3://bucket/prefix, file:///abs/dir, tcp:// or tls://host:port
  // (sinks/s3.ts, sinks/file.ts, sinks/syslog-message.ts).
  const scheme = /^\s*(s3|file|tcp|tls):/i.exec(text ?? '')?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    const problems: ConfigProblem[] = [];
    const raw = (text ?? '').trim();
    if (scheme === 'tcp' || scheme === 'tls') {
      const target = parseSyslogUrl(raw, 'url', problems);
      if (target !== undefined) return { ok: true, value: target.where as SinkUrl };
    } else if (scheme === 's3') {
      const location = parseS3Url(raw, 'url', problems);
      if (location !== undefined)
        return { ok: true, value: `s3://${location.bucket}/${location.prefix}` as SinkUrl };
    } else if (parseFileUrl(raw, 'url', problems) !== undefined) {
      return { ok: true, value: raw as SinkUrl };
    }
    return fail(problems.map((p) => p.problem).join('; '));
  }
  const parsed = parseUrl(
    text,
    'the ingestion endpoint, e.g. https://splunk.example.com:8088/services/collector/event',
  );
  if (!parsed.ok) return parsed;
  if (parsed.value.hash !== '') return fail('must not contain a #fragment (it is never sent to the server)');
  return { ok: true, value: parsed.value.href as SinkUrl };
}

/**
 * sentinel: the Entra authority (`https://login.microsoftonline.com`, a national cloud's, or a loopback
 * stand-in in tests); unset or empty gives the public cloud's. Returned without a trailing slash.
 */
export function validateAzureAuthorityUrl(text: string | undefined): Check<string> {
  if ((text ?? '').trim() === '') return { ok: true, value: DEFAULT_AZURE_AUTHORITY };
  const parsed = parseUrl(text, `the Entra authority, e.g. ${DEFAULT_AZURE_AUTHORITY}`);
  if (!parsed.ok) return parsed;
  if (parsed.value.search !== '' || parsed.value.hash !== '') {
    return fail(`must be the authority alone, without ?query or #fragment (e.g. ${DEFAULT_AZURE_AUTHORITY})`);
  }
  return { ok: true, value: `${parsed.value.origin}${parsed.value.pathname.replace(/\/+$/, '')}` };
}

export function parseSinkFormat(text: string | undefined): Check<SinkFormat> {
  const value = (text ?? '').trim();
  if ((SINK_FORMATS as readonly string[]).includes(value)) return { ok: true, value: value as SinkFormat };
  return fail(
    `${value === '' ? 'is not set' : `${quote(value)} is not supported`}; expected one of ${SINK_FORMATS.join(', ')}`,
  );
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

/**
 * SINK_CA_FILE / --sink-ca-file: a PEM file of certificates to trust for a tls:// receiver, read here
 * once; its text is the value (certificates are public). Unset or empty: none.
 */
export function readCaFile(text: string | undefined): Check<string | undefined> {
  const file = (text ?? '').trim();
  if (file === '') return { ok: true, value: undefined };
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    return fail(`${quote(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
    return fail(`${quote(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return { ok: true, value: pem };
}

/** HEC_ACK / --hec-ack: `true` or `false`; empty or unset is off. */
export function parseSwitch(text: string | undefined): Check<boolean> {
  const value = (text ?? '').trim().toLowerCase();
  if (value === '' || value === 'false') return { ok: true, value: false };
  if (value === 'true') return { ok: true, value: true };
  return fail(`${quote(value)} is not true or false`);
}
