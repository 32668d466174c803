/**
 * A Sumo Logic HTTP Logs and Metrics Source: `POST /receiver/v1/http/<token>`, where the URL itself is
 * the credential, plain, gzip or deflate bodies, one log message per line, the `X-Sumo-Category`,
 * `X-Sumo-Name`, `X-Sumo-Host` and `X-Sumo-Fields` headers applied to every message of the request.
 * `200` with an empty body means received. Sumo imposes no hard size limit (it recommends at most 1 MB
 * uncompressed per request): a larger request is accepted and flagged in `warning`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Product, Reply } from './types';

export const SUMO_PATH_PREFIX = '/receiver/v1/http/';
/** "You may send batched requests up to but not exceeding 1MB of uncompressed data." */
export const SUMO_RECOMMENDED_MAX_BYTES = 1_000_000;

/** The message Sumo's troubleshooting guide quotes for a throttled request. */
const THROTTLED = 'You have temporarily exceeded your Sumo Logic quota. Please try again at a later time';

/** One message as Sumo stored it, with the metadata the request's headers gave it. */
export interface SumoMessage {
  message: string;
  category?: string;
  name?: string;
  host?: string;
  /** `X-Sumo-Fields`: `key=value` pairs, comma separated. */
  fields: Record<string, string>;
}

/** A token shaped like Sumo's: a long base64 string. */
export function sumoToken(): string {
  return randomBytes(66).toString('base64');
}

export function sumoProduct(token: string): Product {
  const text = (status: number, body: string): Reply => ({
    status,
    body,
    contentType: 'text/plain; charset=UTF-8',
  });
  return {
    ingestPath: `${SUMO_PATH_PREFIX}${encodeURIComponent(token)}`,
    encodings: ['gzip', 'deflate'],
    isIngest: (method, path) => method === 'POST' && path.startsWith(SUMO_PATH_PREFIX),
    other: (method, path) =>
      path.startsWith(SUMO_PATH_PREFIX)
        ? text(405, `${method} is not supported here; upload logs with POST`)
        : text(404, 'Not Found'),
    // The token is the last path segment; a removed or regenerated source's old URL gets 401.
    authorize: (_headers, path) =>
      decodeURIComponent(path.slice(SUMO_PATH_PREFIX.length)) === token
        ? undefined
        : text(401, 'Unauthorized'),
    statusReply: (status, detail) =>
      text(status, status === 429 ? THROTTLED : (detail ?? STATUS_CODES[status] ?? `status ${status}`)),
    ingest: ({ headers, body, fault }) => {
      const size = Buffer.byteLength(body);
      const warning =
        size > SUMO_RECOMMENDED_MAX_BYTES
          ? `request of ${size} bytes uncompressed is over Sumo's recommended ${SUMO_RECOMMENDED_MAX_BYTES}`
          : undefined;
      if (fault?.kind === 'sumo-budget-drop') {
        // An exhausted ingest budget: "HTTP Sources will drop data requests and still return a 200".
        return { reply: text(200, ''), accepted: [], warning: 'dropped by an ingest budget' };
      }
      const metadata = metadataOf(headers);
      const accepted: AcceptedItem[] = [];
      for (const line of body.split('\n')) {
        const message = line.replace(/\r$/, '');
        if (message.trim() === '') {
          continue;
        }
        const envelope = parseJson(message);
        const id = (envelope as { id?: unknown } | undefined)?.id;
        accepted.push({
          envelope: (envelope ?? message) as Envelope,
          id: typeof id === 'string' ? id : '',
          raw: { message, ...metadata } satisfies SumoMessage,
        });
      }
      return { reply: text(200, ''), accepted, warning };
    },
    reset: () => {},
  };
}

function metadataOf(headers: IncomingHttpHeaders): Omit<SumoMessage, 'message'> {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const fields: Record<string, string> = {};
  for (const pair of (one('x-sumo-fields') ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) {
      fields[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return {
    category: one('x-sumo-category'),
    name: one('x-sumo-name'),
    host: one('x-sumo-host'),
    fields,
  };
}

function parseJson(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
