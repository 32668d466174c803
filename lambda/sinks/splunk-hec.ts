/**
 * Splunk HTTP Event Collector, JSON event endpoint (`/services/collector/event`).
 *
 * Each envelope becomes one HEC event object; a batch is those objects one after another:
 *   {"time": 1717588206.389, "host": "<instance>", "source": "mimecast:<stream>",
 *    "sourcetype": "mimecast:<stream>:<logType slug>", "index"?: "<index>", "event": <envelope>}
 * - time: the envelope's time as epoch seconds with a millisecond fraction, so Splunk's _time is the
 *   event's time, not the arrival time.
 * - host: the collector instance, which tells apart several collectors feeding one Splunk.
 * - sourcetype: `mimecast:<stream>:<logType>` with the log type lower-cased and every run of other
 *   characters than a-z and 0-9 made `_` ("url protect" → `mimecast:ttp-url:url_protect`); just
 *   `mimecast:<stream>` when the log type is empty. One sourcetype per log type lets field extraction
 *   and retention differ per type, while `sourcetype=mimecast:siem:*` still selects a whole stream.
 * Indexer acknowledgement is not used: code 0 means HEC accepted the batch. A token with
 * acknowledgement on answers code 10 and the batch is refused with a remedy.
 *
 * Probe: `GET <prefix>/services/collector/health` (is HEC up), then an empty POST to the event URL with
 * the token: HEC answers code 5 "No data" when it accepts the token (nothing is indexed), 1-4 when not.
 */
import type { Envelope } from '../core/envelope';
import { ENV } from '../env-names';
import type { ConfigProblem } from '../errors';
import { type Answer, isRecord, tryJson } from './answer';
import type { ProbeResult } from './destination';
import { redactUrl } from './endpoint';
import {
  authorization,
  envelopeFields,
  envelopeJson,
  type HttpFormat,
  remedyForStatus,
  statusVerdict,
  type Verdict,
} from './format';
import { failed, jsonObject, type ProbeContext, passed, tokenFailure, unexpectedAnswer } from './probe';

export const HEC_EVENT_PATH = '/services/collector/event';

interface HecCode {
  text: string;
  status: number;
  retryable: boolean;
}

/** Splunk's documented HEC status codes, with the HTTP status each comes with. */
export const HEC_CODES: Readonly<Record<number, HecCode>> = {
  0: { text: 'Success', status: 200, retryable: false },
  1: { text: 'Token disabled', status: 403, retryable: false },
  2: { text: 'Token is required', status: 401, retryable: false },
  3: { text: 'Invalid authorization', status: 401, retryable: false },
  4: { text: 'Invalid token', status: 403, retryable: false },
  5: { text: 'No data', status: 400, retryable: false },
  6: { text: 'Invalid data format', status: 400, retryable: false },
  7: { text: 'Incorrect index', status: 400, retryable: false },
  8: { text: 'Internal server error', status: 500, retryable: true },
  9: { text: 'Server is busy', status: 503, retryable: true },
  10: { text: 'Data channel is missing', status: 400, retryable: false },
  11: { text: 'Invalid data channel', status: 400, retryable: false },
  12: { text: 'Event field is required', status: 400, retryable: false },
  13: { text: 'Event field cannot be blank', status: 400, retryable: false },
  14: { text: 'ACK is disabled', status: 400, retryable: false },
  15: { text: 'Error in handling indexed fields', status: 400, retryable: false },
  16: { text: 'Query string authorization is not enabled', status: 400, retryable: false },
  17: { text: 'HEC is healthy', status: 200, retryable: false },
  18: { text: 'HEC is unhealthy, queues are full', status: 503, retryable: true },
  19: { text: 'HEC is unhealthy, ack service unavailable', status: 503, retryable: true },
  20: { text: 'HEC is unhealthy, queues are full, ack service unavailable', status: 503, retryable: true },
  21: { text: 'Invalid token', status: 400, retryable: false },
  22: { text: 'Token disabled', status: 400, retryable: false },
  23: { text: 'Server is shutting down', status: 503, retryable: true },
  26: { text: 'HEC queue is at capacity and cannot process any more requests', status: 429, retryable: true },
  27: {
    text: 'HEC ACK channel is at capacity and cannot process any more requests',
    status: 429,
    retryable: true,
  },
};

const TOKEN_CODES = new Set([1, 2, 3, 4, 16, 21, 22]);
const ACK_CODES = new Set([10, 11, 14]);
const DATA_CODES = new Set([5, 6, 12, 13, 15]);

/** Accepts the full event URL or a bare `https://host:8088`, to which the event path is appended. */
export function resolveHecUrl(url: URL, problems: ConfigProblem[]): URL | undefined {
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '') {
    const resolved = new URL(url.href);
    resolved.pathname = HEC_EVENT_PATH;
    return resolved;
  }
  if (/\/services\/collector\/(raw|health|ack)(\/|$)/.test(path)) {
    problems.push({
      field: 'url',
      problem: `points at ${path}; the splunk-hec format posts JSON events to ${HEC_EVENT_PATH}`,
    });
    return undefined;
  }
  return url;
}

export function sourceFor(stream: string): string {
  return `mimecast:${stream}`;
}

export function sourcetypeFor(stream: string, logType: string): string {
  const slug = logType
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return slug === '' ? `mimecast:${stream}` : `mimecast:${stream}:${slug}`;
}

export function hecEvent(envelope: Envelope, index?: string): Record<string, unknown> {
  const millis = Date.parse(envelope.time);
  return {
    // Without a time HEC stamps arrival time; an unreadable envelope time is better left to it.
    ...(Number.isFinite(millis) ? { time: millis / 1000 } : {}),
    host: envelope.instance,
    source: sourceFor(envelope.stream),
    sourcetype: sourcetypeFor(envelope.stream, envelope.logType),
    ...(index === undefined ? {} : { index }),
    event: envelopeFields(envelope),
  };
}

export function splunkHecFormat(url: URL, index?: string): HttpFormat {
  return {
    format: 'splunk-hec',
    url,
    contentType: 'application/json',
    credentials: authorization('Splunk'),
    // HEC takes concatenated objects; a newline between them keeps captures readable and costs a byte.
    serialize: (envelope) => {
      // hecEvent's members, then the envelope written by the one envelope writer (its record raw).
      const { event: _written, ...members } = hecEvent(envelope, index);
      return `${JSON.stringify(members).slice(0, -1)},"event":${envelopeJson(envelope)}}\n`;
    },
    interpret: (answer, sent) => interpretHec(answer, sent),
    probe: (receiver) => probeHec(url, receiver),
  };
}

async function probeHec(eventUrl: URL, { token, request }: ProbeContext): Promise<ProbeResult> {
  const at = eventUrl.pathname.indexOf('/services/collector');
  const healthUrl = new URL(
    `${at >= 0 ? eventUrl.pathname.slice(0, at) : ''}/services/collector/health`,
    eventUrl.origin,
  );
  const health = await request('GET', healthUrl);
  if (health.status !== 200) {
    return health.status === 503
      ? failed(
          'HEC unhealthy',
          `${redactUrl(healthUrl)} answered HTTP 503 (HEC code ${String(jsonObject(health)?.code)}): ${health.text.slice(0, 200)}`,
          'Check the Splunk indexers and HEC queues.',
        )
      : unexpectedAnswer('GET', healthUrl, health, token !== undefined);
  }
  const answer = await request('POST', eventUrl, {
    'content-type': 'application/json',
    ...(token === undefined ? {} : authorization('Splunk')(token)),
  });
  const body = jsonObject(answer);
  const code = typeof body?.code === 'number' ? body.code : undefined;
  const said = `${redactUrl(eventUrl)} answered HEC code ${code} (${typeof body?.text === 'string' ? body.text : ''})`;
  if (code === 5 || code === 0) return passed('OK (HEC healthy, token accepted)');
  if (code === 1) {
    return failed(
      'token refused',
      said,
      'Enable the HEC token in Splunk (Settings > Data inputs > HTTP Event Collector).',
    );
  }
  if (code === 2 || code === 3 || code === 4) {
    return tokenFailure(code !== 2, said);
  }
  if (code !== undefined && ACK_CODES.has(code)) {
    return failed(
      'indexer acknowledgement on',
      said,
      'Turn indexer acknowledgement off for this HEC token: the collector confirms delivery from the HEC answer itself.',
    );
  }
  return unexpectedAnswer('POST', eventUrl, answer, token !== undefined);
}

function interpretHec(answer: Answer, sent: readonly Envelope[]): Verdict {
  const body = tryJson(answer.text);
  const code = isRecord(body) && typeof body.code === 'number' ? body.code : undefined;
  const success = answer.status >= 200 && answer.status < 300;
  if (success && (code === 0 || (code === undefined && answer.text.trim() === ''))) {
    // Some HEC-compatible receivers answer an empty 2xx; a real HEC always says code 0.
    return { kind: 'acknowledged' };
  }
  if (code === undefined) {
    if (success) {
      return {
        kind: 'malformed',
        reason: `HTTP ${answer.status} without a HEC answer (is this a HEC endpoint?)`,
      };
    }
    return statusVerdict(answer);
  }
  const known = HEC_CODES[code];
  const text = isRecord(body) && typeof body.text === 'string' ? body.text : (known?.text ?? 'unknown code');
  const invalidAt = isRecord(body) ? body['invalid-event-number'] : undefined;
  const where =
    typeof invalidAt === 'number' && sent[invalidAt] !== undefined
      ? ` at event ${invalidAt} (id ${sent[invalidAt].id})`
      : '';
  const reason = `HTTP ${answer.status}, HEC code ${code} "${text}"${where}`;
  const codes = [`hec:${code}`];
  if (known === undefined) {
    return statusVerdict(answer, reason, codes);
  }
  if (known.retryable) {
    return { kind: 'retry', reason, throttled: known.status === 429 || answer.status === 429, codes };
  }
  return { kind: 'rejected', reason, remedy: hecRemedy(code, answer.status), codes };
}

function hecRemedy(code: number, status: number): string {
  if (TOKEN_CODES.has(code)) {
    return 'Check the HEC token in the collector secret: it must exist, be enabled, and be sent as "Authorization: Splunk <token>".';
  }
  if (ACK_CODES.has(code)) {
    return 'Turn off indexer acknowledgement on this HEC token: the collector relies on HEC code 0 and does not poll acks.';
  }
  if (code === 7) {
    return 'Allow the index on the HEC token (or fix the sink index setting) in Splunk.';
  }
  if (DATA_CODES.has(code)) {
    return `HEC could not read the events: check that ${ENV.sinkUrl} reaches HEC directly (no proxy rewriting bodies).`;
  }
  return remedyForStatus(status);
}
