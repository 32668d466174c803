/**
 * Sumo Logic HTTP Logs and Metrics Source (`--sink-format sumo`): gzip NDJSON envelopes, one stream per
 * request, `X-Sumo-Category: mimecast/<stream>`, `X-Sumo-Name: mimecast-<stream>`, `X-Sumo-Host: <instance>`;
 * at most 1,000,000 bytes uncompressed per request (Sumo's "up to but not exceeding 1MB"); 200 =
 * acknowledged; 408, 429, 5xx retried (Sumo's throttling answers 429 with its quota text).
 *
 * The URL is itself the credential (`…/receiver/v1/http/<token>`): no token in the secret, and the token
 * segment is redacted wherever the URL is shown (endpoint.ts `redactUrl`) and scrubbed from every error.
 * Note: an ingest budget that is used up makes Sumo answer 200 and drop the data; no client can see that.
 */
import type { ConfigProblem } from '../errors';
import { pathSecret, redactUrl } from './endpoint';
import { envelopeJson, type HttpFormat, statusVerdict } from './format';
import { failed, passed, unexpectedAnswer } from './probe';

export const SUMO_MAX_REQUEST_BYTES = 1_000_000;

const SOURCE_REFUSED_REMEDY =
  'The Sumo Logic HTTP Source refused its URL: the source was removed or its URL regenerated. Copy the current URL from Sumo Logic (Manage Data > Collection > the source > Show URL) into --sink-url or the stack parameter IngestionUrl.';

const SOURCE_PATH = /\/receiver\/v1\/http\/?$/;

/**
 * The HTTP Source URL: given whole (`…/receiver/v1/http/<token>`, the command line), or as the URL up to
 * `/receiver/v1/http/` with the token in the collector secret's sink token (the stack: the Lambda's
 * environment and the template never hold the token). Never echoed.
 */
export function resolveSumoUrl(
  url: URL,
  token: string | undefined,
  problems: ConfigProblem[],
): URL | undefined {
  const expected =
    'expected https://<collection endpoint>/receiver/v1/http/<token> as Sumo Logic shows it, or the URL up to /receiver/v1/http/ with the token as the sink token in the secret';
  if (SOURCE_PATH.test(url.pathname)) {
    if (token === undefined) {
      problems.push({
        field: 'url',
        problem: `ends at /receiver/v1/http/ but no sink token holds the source token; ${expected}`,
      });
      return undefined;
    }
    const whole = new URL(url.href);
    whole.pathname = `${url.pathname.replace(/\/?$/, '/')}${encodeURIComponent(token)}`;
    return whole;
  }
  if (pathSecret(url) === undefined || !/\/receiver\/v1\/http\/[^/]+\/?$/.test(url.pathname)) {
    problems.push({ field: 'url', problem: `is not a Sumo Logic HTTP Source URL; ${expected}` });
    return undefined;
  }
  if (token !== undefined) {
    problems.push({
      field: 'url',
      problem:
        'carries the source token and a sink token is stored too; keep one (the stack: the URL up to /receiver/v1/http/, the token in the secret)',
    });
    return undefined;
  }
  return url;
}

export function sumoFormat(url: URL): HttpFormat {
  const token = pathSecret(url);
  return {
    format: 'sumo',
    url,
    contentType: 'application/x-ndjson',
    // The URL carries the credential (a stored sink token was put into it); nothing goes in a header.
    credentials: () => ({}),
    secrets: token === undefined ? [] : [token, decodedOrSame(token)],
    serialize: (envelope) => `${envelopeJson(envelope)}\n`,
    limits: { maxBytes: SUMO_MAX_REQUEST_BYTES, oneStream: true },
    batchHeaders: (batch): Record<string, string> => {
      const first = batch[0];
      if (first === undefined) return {};
      return {
        'x-sumo-category': `mimecast/${first.stream}`,
        'x-sumo-name': `mimecast-${first.stream}`,
        'x-sumo-host': first.instance,
      };
    },
    interpret: (answer) => {
      const verdict = statusVerdict(answer);
      if (verdict.kind === 'rejected' && (answer.status === 401 || answer.status === 403)) {
        return { ...verdict, remedy: SOURCE_REFUSED_REMEDY };
      }
      return verdict;
    },
    // An empty POST stores nothing; the source answers 200 when the URL is current.
    probe: async ({ request }) => {
      const answer = await request('POST', url, { 'content-type': 'application/x-ndjson' });
      if (answer.status === 200) return passed('OK (source URL accepted an empty body)');
      if (answer.status === 401 || answer.status === 403) {
        return failed(
          'source URL refused',
          `${redactUrl(url)} answered HTTP ${answer.status}`,
          SOURCE_REFUSED_REMEDY,
        );
      }
      return unexpectedAnswer('POST', url, answer, false);
    },
  };
}

/** The token as the user pasted it (unescaped), or as is when it is not valid percent-encoding. */
function decodedOrSame(token: string): string {
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}
