/**
 * Microsoft Sentinel through Azure Monitor's Logs Ingestion API (`--sink-format sentinel`), URL
 * `https://<data collection endpoint>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=2023-01-01`.
 *
 * The body is a JSON array of rows, each the envelope's fields (`id`, `stream`, `logType`, `time`,
 * `instance`, `event`) after `TimeGenerated` (the envelope's time: every custom table needs that column).
 * At most 1,048,576 bytes uncompressed per request ("Maximum size of API call: 1 MB"; gzip makes the wire
 * smaller still); a row over 64 KB is refused before sending, since the API cuts field values at 64 KB.
 * The Bearer token comes from the Entra app (entra.ts), never from the sink token. 204 = acknowledged;
 * 413 sends each half on its own; 429 honours Retry-After; 5xx and dropped connections are retried; 401
 * fetches one new token and tries again; 400/403/404 refuse the batch with Azure's reason and the fix.
 */
import type { ConfigProblem } from '../errors';
import { isRecord, tryJson } from './answer';
import { redactUrl } from './endpoint';
import { AZURE_SETTING_NAMES } from './entra';
import {
  authorization,
  envelopeJson,
  type HttpFormat,
  type RequestLimits,
  statusVerdict,
  type Verdict,
} from './format';
import { failed, passed, unexpectedAnswer } from './probe';

export const SENTINEL_API_VERSION = '2023-01-01';
export const SENTINEL_LIMITS: RequestLimits = {
  maxBytes: 1_048_576,
  // Azure cuts each field value at 64 KB: a row that large would arrive cut, so it is refused instead.
  maxEntryBytes: 64 * 1024,
};

const URL_SHAPE = `https://<data collection endpoint>/dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=${SENTINEL_API_VERSION}`;
const RULE_PATH = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)\/?$/;
const IMMUTABLE_ID = /^dcr-[0-9a-f]{32}$/i;
const STREAM_NAME = /^(Custom|Microsoft)-[A-Za-z0-9_]+$/;

/** The rule and stream a Logs Ingestion URL names. */
export interface IngestionTarget {
  url: URL;
  dcrImmutableId: string;
  stream: string;
}

/** Checks the Logs Ingestion URL's shape; each problem says what the URL should be. */
export function resolveSentinelUrl(url: URL, problems: ConfigProblem[]): IngestionTarget | undefined {
  const match = RULE_PATH.exec(url.pathname);
  const found: string[] = [];
  if (match === null) {
    found.push(
      'has no /dataCollectionRules/<dcr-immutable-id>/streams/<stream> path (the Logs Ingestion URL, not the portal or workspace URL)',
    );
  } else {
    const [, dcr = '', rawStream = ''] = match;
    const stream = safeDecode(rawStream);
    if (!IMMUTABLE_ID.test(dcr)) {
      found.push(
        "names the rule by something other than its Immutable Id (dcr- and 32 hex digits, shown in the rule's JSON view in the Azure portal)",
      );
    }
    if (stream === undefined || !STREAM_NAME.test(stream)) {
      found.push(
        'names a stream that is not Custom-<name> or Microsoft-<table> (a stream declared in the rule, e.g. Custom-MimecastEvents_CL)',
      );
    }
  }
  const version = url.searchParams.get('api-version');
  if (version !== SENTINEL_API_VERSION) {
    found.push(
      version === null
        ? `has no api-version (add ?api-version=${SENTINEL_API_VERSION})`
        : `asks for api-version ${version}; the collector speaks ${SENTINEL_API_VERSION}`,
    );
  }
  const others = [...url.searchParams.keys()].filter((key) => key !== 'api-version');
  if (others.length > 0) found.push(`has query parameters besides api-version (${others.join(', ')})`);
  if (found.length > 0) {
    problems.push({ field: 'url', problem: `${found.join('; ')}; expected ${URL_SHAPE}` });
    return undefined;
  }
  const [, dcrImmutableId = '', stream = ''] = match ?? [];
  return { url, dcrImmutableId, stream: safeDecode(stream) ?? stream };
}

/** One row: `TimeGenerated` first, then the envelope's fields from the one envelope writer. */
export function sentinelRow(envelope: Parameters<typeof envelopeJson>[0]): string {
  return envelopeJson(envelope, `"TimeGenerated":${JSON.stringify(envelope.time)}`);
}

export function sentinelFormat(target: IngestionTarget): HttpFormat {
  const { url, dcrImmutableId, stream } = target;
  const app = AZURE_SETTING_NAMES.clientId;
  const remedies: Record<number, string> = {
    401: `Azure refused a freshly issued token: check that ${AZURE_SETTING_NAMES.tenantId} is the tenant of the data collection rule and that ${AZURE_SETTING_NAMES.authority} is the Entra authority of that cloud.`,
    403: `Give the Entra app ${app} the role "Monitoring Metrics Publisher" on the data collection rule ${dcrImmutableId} (Access control (IAM) of the rule; a new assignment takes up to 30 minutes to apply), and check that --sink-url names that rule.`,
    404: `Check --sink-url: the data collection endpoint ${url.host} has no rule ${dcrImmutableId} (copy the Logs Ingestion URL of the endpoint and the rule's Immutable Id).`,
  };
  return {
    format: 'sentinel',
    url,
    contentType: 'application/json',
    credentials: authorization('Bearer'),
    serialize: sentinelRow,
    frame: (entries) => `[${entries.join(',')}]`,
    limits: SENTINEL_LIMITS,
    interpret: (answer): Verdict => {
      const said = azureReason(answer.text);
      const reason = `HTTP ${answer.status}${said === undefined ? '' : ` ${said}`}`;
      if (answer.status === 413) return { kind: 'split', reason };
      const remedy =
        remedies[answer.status] ??
        (answer.status === 400
          ? said?.startsWith('InvalidStream')
            ? `Declare the stream ${stream} in the data collection rule's streamDeclarations and a dataFlow from it to the table, or fix the stream in --sink-url.`
            : "Read Azure's reason: the rule's stream declaration must take the row's columns (TimeGenerated datetime, id, stream, logType, time, instance string, event dynamic)."
          : undefined);
      if (
        remedy !== undefined &&
        answer.status >= 400 &&
        answer.status < 500 &&
        answer.status !== 408 &&
        answer.status !== 429
      ) {
        return {
          kind: 'rejected',
          reason,
          remedy,
          ...(said === undefined ? {} : { detail: said, codes: [said.split(':')[0] ?? ''] }),
        };
      }
      return statusVerdict(answer, reason);
    },
    // An empty body, after the token was issued (http-sink.ts): the API checks the token and the role
    // before the body, so 400 for the empty body means both work. Nothing is ingested.
    probe: async ({ token, request }) => {
      const answer = await request('POST', url, {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      });
      const said = azureReason(answer.text);
      if (answer.status === 204 || answer.status === 200) {
        return passed('OK (Entra token issued; the rule took an empty body)');
      }
      if (answer.status === 400 && !/^Invalid(Stream|ApiVersion)\b/.test(said ?? '')) {
        return passed(
          'OK (Entra token issued, role on the rule granted; an empty body is refused, as expected)',
        );
      }
      const message = `POST ${redactUrl(url)} answered HTTP ${answer.status}${said === undefined ? '' : `: ${said}`}`;
      if (answer.status === 403)
        return failed('Entra token issued; role missing on the rule', message, remedies[403]);
      if (answer.status === 401)
        return failed('Entra token issued; refused by the API', message, remedies[401]);
      if (answer.status === 400) return failed('Entra token issued; stream or version refused', message);
      if (answer.status === 404)
        return failed('Entra token issued; wrong URL (HTTP 404)', message, remedies[404]);
      return unexpectedAnswer('POST', url, answer, token !== undefined);
    },
  };
}

/** Azure's `{"error":{"code","message"}}` as `code: message`. */
function azureReason(text: string): string | undefined {
  const body = tryJson(text);
  const error = isRecord(body) ? body.error : undefined;
  if (!isRecord(error)) return undefined;
  const code = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : undefined;
  if (code === undefined && message === undefined) return undefined;
  return [code, message].filter((part) => part !== undefined).join(': ');
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
