/** What every wire format provides, and the HTTP status rules they share. */
import { type Envelope, eventJson } from '../core/envelope';
import { ENV } from '../env-names';
import type { Answer } from './answer';
import type { ProbeResult } from './destination';
import type { ProbeContext } from './probe';

export type SinkFormat =
  | 'ndjson'
  | 'splunk-hec'
  | 'elastic-bulk'
  | 'sumo'
  | 'datadog'
  | 'sentinel'
  | 's3'
  | 'file'
  | 'syslog';

export const SINK_FORMATS: readonly SinkFormat[] = [
  'ndjson',
  'splunk-hec',
  'elastic-bulk',
  'sumo',
  'datadog',
  'sentinel',
  's3',
  'file',
  'syslog',
];

/**
 * Formats only the command line offers: the function has no lasting disk (file), and no network path
 * to a syslog receiver nor a way to be given its CA (syslog).
 */
export const CLI_ONLY_FORMATS: readonly SinkFormat[] = ['file', 'syslog'];

/** file: days of day files kept unless `--retention-days` says otherwise (a week of logs for a shipper to catch up). */
export const DEFAULT_RETENTION_DAYS = 7;

/** Formats the stack offers as `SinkFormat`: all but the command line's (s3 with its bucket and grant, lib/constructs/data-lake.ts). */
export const STACK_SINK_FORMATS: readonly SinkFormat[] = SINK_FORMATS.filter(
  (f) => !CLI_ONLY_FORMATS.includes(f),
);

export function isSinkFormat(value: unknown): value is SinkFormat {
  return typeof value === 'string' && (SINK_FORMATS as readonly string[]).includes(value);
}

/** What an answer means for the batch that was sent. */
export type Verdict =
  | { kind: 'acknowledged' }
  | {
      kind: 'retry';
      reason: string;
      /** The receiver asked us to slow down (429 and its per-product equivalents). */
      throttled: boolean;
      codes?: string[];
      /** Only these still need sending (bulk partial failures); the whole batch when absent. */
      remaining?: readonly Envelope[];
    }
  | {
      kind: 'rejected';
      reason: string;
      remedy: string;
      codes?: string[];
      /** Receiver-supplied detail to show instead of the raw answer's first characters. */
      detail?: string;
    }
  /** The answer is not what this format's receiver sends: likely the wrong URL or format. */
  | { kind: 'malformed'; reason: string }
  /** The request was too large for the receiver (Datadog's 413): send each half on its own. */
  | { kind: 'split'; reason: string };

/** Per-request limits a receiver enforces: the sink splits a batch to fit them before sending. */
export interface RequestLimits {
  /** Uncompressed body bytes per request (the serialised entries, framing included). */
  maxBytes?: number;
  /** Entries per request. */
  maxEntries?: number;
  /** Bytes of one serialised entry; a larger one is refused before sending (the receiver would cut it). */
  maxEntryBytes?: number;
  /** Every request holds one stream's events (Sumo's category is per request). */
  oneStream?: boolean;
}

/** What `confirm` may use: more requests to the same receiver, with the sink's headers and token. */
export interface ConfirmContext {
  request(url: URL, body: string): Promise<Answer>;
  signal: AbortSignal;
  /** Epoch ms by which confirming must end (the budget's deadline or sooner). */
  deadline: number;
  now(): number;
}

/**
 * One HTTP wire format: everything that differs between receivers. A new format is one module that
 * returns this (see ndjson.ts for the smallest); sending, retries, time limits, compression, errors and
 * the token's safety are http-sink.ts's, the same for every format.
 */
export interface HttpFormat {
  readonly format: SinkFormat;
  /** The resolved endpoint requests go to. */
  readonly url: URL;
  readonly contentType: string;
  /** The headers that carry the token (`Authorization: <scheme> <token>` for the formats so far). */
  credentials(token: string): Record<string, string>;
  /** One envelope in this format, line terminator included (its byte length is the sink's `sizeOf`). */
  serialize(envelope: Envelope): string;
  /** What an answer to a batch means (a redirect never reaches it: http-sink.ts refuses those). */
  interpret(answer: Answer, sent: readonly Envelope[]): Verdict;
  /** The body of one request from its entries (default: the entries one after another). */
  frame?(entries: readonly string[]): string;
  /** Headers that depend on the batch (Sumo's category per stream). */
  batchHeaders?(batch: readonly Envelope[]): Record<string, string>;
  /** Limits the sink splits batches to fit. */
  readonly limits?: RequestLimits;
  /**
   * After an acknowledging answer, a further check before the batch counts as delivered (Splunk's
   * indexer acknowledgement): resolves `acknowledged`, or `retry` to post the batch again.
   */
  confirm?(answer: Answer, context: ConfirmContext): Promise<Verdict>;
  /** Values besides the token that must never appear in an error (Sumo's URL is itself a credential). */
  readonly secrets?: readonly string[];
  /** A harmless request (no event indexed) that says whether endpoint, token and format work (probe.ts). */
  probe(receiver: ProbeContext): Promise<ProbeResult>;
}

/** `Authorization: <scheme> <token>`, the way every format so far carries its token. */
export function authorization(scheme: string): (token: string) => Record<string, string> {
  return (token) => ({ authorization: `${scheme} ${token}` });
}

/**
 * The generic envelope as one JSON object (no line terminator), fields in a fixed order, the record
 * last: every format writes envelopes through this one function. `leading` is JSON members (without
 * braces) put first, as Elasticsearch's `"@timestamp":…`. The record's text is copied in as it came
 * (`RecordJson` in core/envelope.ts) or serialised once; the other fields are short strings.
 */
export function envelopeJson(envelope: Envelope, leading?: string): string {
  const head =
    `{${leading === undefined ? '' : `${leading},`}"id":${JSON.stringify(envelope.id)}` +
    `,"stream":${JSON.stringify(envelope.stream)},"logType":${JSON.stringify(envelope.logType)}` +
    `,"time":${JSON.stringify(envelope.time)},"instance":${JSON.stringify(envelope.instance)}`;
  // An envelope without its record (undefined) is written without the member, as JSON.stringify did.
  return envelope.event === undefined ? `${head}}` : `${head},"event":${eventJson(envelope.event)}}`;
}

/** The generic envelope with a fixed field order, whatever else the object carries. */
export function envelopeFields(envelope: Envelope): Envelope {
  return {
    id: envelope.id,
    stream: envelope.stream,
    logType: envelope.logType,
    time: envelope.time,
    instance: envelope.instance,
    event: envelope.event,
  };
}

/** Shared status rules: 2xx acknowledged; 408, 429 and 5xx retried; any other status refused. */
export function statusVerdict(answer: Answer, summary = `HTTP ${answer.status}`, codes?: string[]): Verdict {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    return { kind: 'acknowledged' };
  }
  if (status === 429) {
    return { kind: 'retry', reason: summary, throttled: true, codes };
  }
  if (status === 408 || (status >= 500 && status < 600)) {
    return { kind: 'retry', reason: summary, throttled: false, codes };
  }
  return { kind: 'rejected', reason: summary, remedy: remedyForStatus(status), codes };
}

export function remedyForStatus(status: number): string {
  if (status === 401 || status === 403) {
    return 'Check the sink token in the collector secret: it must be valid, enabled and allowed to write to this endpoint.';
  }
  if (status === 404 || status === 405) {
    return `Check ${ENV.sinkUrl}: the receiver has no ingestion endpoint at that path.`;
  }
  if (status === 413) {
    return `Lower ${ENV.batchMaxBytes} below the receiver's request size limit, or raise that limit.`;
  }
  if (status === 415 || status === 406) {
    return `Check ${ENV.sinkFormat}: the receiver does not accept this content type or encoding.`;
  }
  if (status >= 300 && status < 400) {
    return `Point ${ENV.sinkUrl} at the final address: the collector does not follow redirects, so the token never goes elsewhere.`;
  }
  return "Read the receiver's answer, fix its configuration (index, mapping, limits) or the collector's sink settings, and run again.";
}
