/**
 * Azure Monitor's Logs Ingestion API, which Microsoft Sentinel reads from:
 * `POST /dataCollectionRules/<dcr-immutable-id>/streams/<stream>?api-version=2023-01-01` with
 * `Authorization: Bearer <Entra token for https://monitor.azure.com>`, a JSON array, plain or gzip;
 * `204` with no body when accepted. At most 1 MB (1,048,576 bytes) on the wire (413
 * `ContentLengthLimitExceeded`, checked before the token), 50 MiB once decompressed; field values over
 * 64 KB are truncated. Errors carry `{"error":{"code","message"}}`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Product, Reply, SentinelOptions } from './types';

export const SENTINEL_MAX_CALL_BYTES = 1_048_576;
/** The limit checked after the gateway, on the decompressed body (see README.md). */
export const SENTINEL_MAX_DECOMPRESSED_BYTES = 50 * 1024 * 1024;
export const SENTINEL_MAX_FIELD_BYTES = 64 * 1024;
export const SENTINEL_API_VERSIONS = new Set(['2023-01-01', '2021-11-01-preview']);
const MONITOR_AUDIENCE = 'https://monitor.azure.com';
const PATH = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/;
const ENVELOPE_FIELDS = ['id', 'stream', 'logType', 'time', 'instance', 'event'] as const;

export function azureError(status: number, code: string, message: string): Reply {
  return { status, body: JSON.stringify({ error: { code, message } }) };
}

/** The rule's immutable id when none is given: `dcr-` and 32 hex digits, as Azure mints them. */
export function dcrImmutableId(): string {
  return `dcr-${randomBytes(16).toString('hex')}`;
}

export function sentinelProduct(
  token: string | undefined,
  options: SentinelOptions & { dcrImmutableId: string; stream: string },
): Product {
  const authorized = new Set(
    options.authorizedClientIds ?? (options.entra === undefined ? [] : [options.entra.clientId]),
  );
  const noAccess = (dcr: string) =>
    azureError(
      403,
      'OperationFailed',
      `The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '${dcr}'.`,
    );
  const authorize = (headers: IncomingHttpHeaders, path: string): Reply | undefined => {
    const dcr = PATH.exec(path)?.[1] ?? '';
    const bearer = /^Bearer\s+(\S+)$/.exec(headers.authorization ?? '')?.[1];
    if (options.entra === undefined && token === undefined) {
      return undefined;
    }
    if (bearer === undefined) {
      return azureError(401, 'InvalidToken', 'The Authorization header is missing or is not a Bearer token.');
    }
    if (options.entra === undefined) {
      return bearer === token ? (dcr === options.dcrImmutableId ? undefined : noAccess(dcr)) : invalidToken();
    }
    const check = options.entra.verify(bearer);
    if (!check.ok) {
      return check.reason === 'expired'
        ? azureError(
            401,
            'TokenExpired',
            `The access token expired at '${new Date(check.expiredAt ?? 0).toISOString()}'.`,
          )
        : invalidToken();
    }
    if (check.audience !== MONITOR_AUDIENCE) {
      return azureError(
        401,
        'InvalidAudience',
        `Invalid authorization token audience '${check.audience}'; it must be '${MONITOR_AUDIENCE}'.`,
      );
    }
    return dcr === options.dcrImmutableId && authorized.has(check.clientId) ? undefined : noAccess(dcr);
  };
  return {
    ingestPath: `/dataCollectionRules/${options.dcrImmutableId}/streams/${encodeURIComponent(options.stream)}?api-version=2023-01-01`,
    limits: { wireBytes: SENTINEL_MAX_CALL_BYTES, decodedBytes: SENTINEL_MAX_DECOMPRESSED_BYTES },
    isIngest: (method, path) => method === 'POST' && PATH.test(path),
    other: (method, path) =>
      azureError(
        404,
        'NotFound',
        `No route for ${method} ${path}; post to /dataCollectionRules/<id>/streams/<stream>.`,
      ),
    authorize,
    statusReply: (status, detail) =>
      azureError(status, codeFor(status), detail ?? STATUS_CODES[status] ?? `status ${status}`),
    tooLarge: ({ stage, bytes, limit }) =>
      stage === 'wire'
        ? azureError(
            413,
            'ContentLengthLimitExceeded',
            `Maximum allowed content length: ${limit} bytes (1 MB). Provided content length: ${bytes ?? `more than ${limit}`} bytes.`,
          )
        : azureError(
            413,
            'PayloadSizeLimitExceeded',
            `The decompressed payload is larger than the maximum allowed ${limit} bytes.`,
          ),
    ingest: ({ path, query, body }) => {
      const version = query.get('api-version');
      if (version === null || !SENTINEL_API_VERSIONS.has(version)) {
        return {
          reply: azureError(
            400,
            'InvalidApiVersion',
            `The api-version '${version ?? ''}' is not supported; use 2023-01-01.`,
          ),
          accepted: [],
        };
      }
      const stream = decodeURIComponent(PATH.exec(path)?.[2] ?? '');
      if (stream !== options.stream) {
        return {
          reply: azureError(
            400,
            'InvalidStream',
            `The stream '${stream}' is not declared in the data collection rule with immutable Id '${options.dcrImmutableId}'.`,
          ),
          accepted: [],
        };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return {
          reply: azureError(400, 'InvalidPayload', 'The request body is not valid JSON.'),
          accepted: [],
        };
      }
      // Azure answers a lone JSON object with 204 and stores nothing (Azure/azure-sdk-for-net#34638,
      // MicrosoftDocs/azure-docs#106266): only an array of objects is ingested.
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        return { reply: { status: 204, body: '' }, accepted: [] };
      }
      if (
        !Array.isArray(parsed) ||
        !parsed.every((entry) => typeof entry === 'object' && entry !== null && !Array.isArray(entry))
      ) {
        return {
          reply: azureError(400, 'InvalidPayload', 'The request body must be a JSON array of objects.'),
          accepted: [],
        };
      }
      const accepted = (parsed as Record<string, unknown>[]).map(stored);
      const truncated = accepted.filter((item) => item.truncated).length;
      return {
        reply: { status: 204, body: '' },
        accepted,
        warning:
          truncated > 0
            ? `${truncated} entries had field values over ${SENTINEL_MAX_FIELD_BYTES} bytes truncated`
            : undefined,
      };
    },
    reset: () => {},
  };
}

function invalidToken(): Reply {
  return azureError(401, 'InvalidToken', 'The access token is not valid.');
}

function codeFor(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalServerError';
    case 503:
      return 'ServiceUnavailable';
    default:
      return (STATUS_CODES[status] ?? `Status${status}`).replace(/\s+/g, '');
  }
}

/** An entry as the workspace keeps it: each field value cut at 64 KB (an object as its JSON text). */
function stored(entry: Record<string, unknown>): AcceptedItem {
  const kept: Record<string, unknown> = {};
  let truncated = false;
  for (const [field, value] of Object.entries(entry)) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (Buffer.byteLength(text) > SENTINEL_MAX_FIELD_BYTES) {
      kept[field] = Buffer.from(text).subarray(0, SENTINEL_MAX_FIELD_BYTES).toString('utf8');
      truncated = true;
    } else {
      kept[field] = value;
    }
  }
  const envelope: Record<string, unknown> = {};
  for (const field of ENVELOPE_FIELDS) {
    if (field in kept) envelope[field] = kept[field];
  }
  return {
    envelope: envelope as unknown as Envelope,
    id: typeof kept.id === 'string' ? kept.id : '',
    raw: kept,
    ...(truncated ? { truncated } : {}),
  };
}
