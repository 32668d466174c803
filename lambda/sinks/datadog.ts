/**
 * Datadog logs intake v2 (`--sink-format datadog`, URL `https://http-intake.logs.<site>/api/v2/logs`, or
 * the bare intake host): a JSON array of entries, the API key from the secret's sink token as `DD-API-KEY`.
 *
 * Each entry is the envelope's fields at the top level beside `ddsource: mimecast`, `service: mimecast`
 * and `ddtags: stream:<stream>,logtype:<log type slug>,instance:<instance>`. Datadog's documented limits
 * are kept before sending: at most 1,000 entries and 5,000,000 bytes uncompressed per request; an entry
 * over 1,000,000 bytes would be truncated by Datadog, so the batch is refused instead (nothing cut).
 * 202 = acknowledged; 413 sends each half on its own; 400 refuses with Datadog's `detail`; 408, 429
 * (with Retry-After) and 5xx are retried.
 */
import type { Envelope } from '../core/envelope';
import { isRecord, tryJson } from './answer';
import { redactUrl } from './endpoint';
import { envelopeJson, type HttpFormat, statusVerdict, type Verdict } from './format';
import { passed, tokenFailure, unexpectedAnswer } from './probe';

export const DATADOG_LOGS_PATH = '/api/v2/logs';
export const DATADOG_LIMITS = { maxBytes: 5_000_000, maxEntries: 1_000, maxEntryBytes: 1_000_000 } as const;

/** A Datadog tag value: lower-case, and characters Datadog would change made `_`. */
function tagValue(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_.:/-]+/g, '_');
}

/** One log entry: the Datadog attributes, then the envelope's fields spliced from the shared envelope JSON. */
export function datadogEntry(envelope: Envelope): string {
  const tags = `stream:${tagValue(envelope.stream)},logtype:${tagValue(envelope.logType)},instance:${tagValue(envelope.instance)}`;
  const head = `{"ddsource":"mimecast","service":"mimecast","ddtags":${JSON.stringify(tags)},`;
  return `${head}${envelopeJson(envelope).slice(1)}`;
}

export function datadogFormat(given: URL): HttpFormat {
  const url = new URL(given.href);
  if (url.pathname === '' || url.pathname === '/') url.pathname = DATADOG_LOGS_PATH;
  return {
    format: 'datadog',
    url,
    contentType: 'application/json',
    credentials: (token) => ({ 'dd-api-key': token }),
    serialize: datadogEntry,
    frame: (entries) => `[${entries.join(',')}]`,
    limits: DATADOG_LIMITS,
    interpret: (answer): Verdict => {
      const detail = datadogDetail(answer.text);
      if (answer.status === 413) {
        return { kind: 'split', reason: `HTTP 413${detail === undefined ? '' : ` "${detail}"`}` };
      }
      if (answer.status === 400) {
        return {
          kind: 'rejected',
          reason: `HTTP 400${detail === undefined ? '' : ` "${detail}"`}`,
          remedy: "Read Datadog's reason; check --sink-url points at the logs intake (…/api/v2/logs).",
          ...(detail === undefined ? {} : { detail }),
        };
      }
      if (answer.status === 401 || answer.status === 403) {
        return {
          kind: 'rejected',
          reason: `HTTP ${answer.status}${detail === undefined ? '' : ` "${detail}"`}`,
          remedy:
            'Store a valid Datadog API key (not an application key) of the site the URL names as the sink token in the collector secret.',
        };
      }
      return statusVerdict(answer, `HTTP ${answer.status}${detail === undefined ? '' : ` "${detail}"`}`);
    },
    // An empty POST: the key is checked first (401/403), then the empty body is refused (400). Nothing stored.
    probe: async ({ token, request }) => {
      const answer = await request('POST', url, {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { 'dd-api-key': token }),
      });
      if (answer.status === 202 || answer.status === 200) return passed('OK (API key accepted)');
      if (answer.status === 400 && datadogDetail(answer.text) !== 'HTTP path is invalid') {
        return passed('OK (API key accepted; an empty body is refused, as expected)');
      }
      if (answer.status === 401 || answer.status === 403) {
        return tokenFailure(token !== undefined, `POST ${redactUrl(url)} answered HTTP ${answer.status}`);
      }
      return unexpectedAnswer('POST', url, answer, token !== undefined);
    },
  };
}

/** The `detail` of Datadog's first error (`{"errors":[{"status","title","detail"}]}`). */
function datadogDetail(text: string): string | undefined {
  const body = tryJson(text);
  const first = isRecord(body) && Array.isArray(body.errors) ? body.errors[0] : undefined;
  if (isRecord(first) && typeof first.detail === 'string') return first.detail;
  return undefined;
}
