/**
 * The paging faults (`stuck-token`, `repeat-page`): where each paged endpoint carries its continuation
 * token in a request and in an answer, and how an answer is rewritten to hand back another one.
 *
 * | endpoint | token sent | token answered |
 * |---|---|---|
 * | `/api/...` JSON log endpoints | `meta.pagination.pageToken` | `meta.pagination.next` |
 * | `/api/ttp/threat-intel/get-feed` | `data[0].token` | `x-mc-threat-feed-next-token` header |
 * | `/api/audit/get-siem-logs` | `data[0].token` | `mc-siem-token` header of a file |
 * | `/siem/v1/batch/events/cg`, `/siem/v1/events/cg` | `nextPage` query | `@nextPage` (and `isCaughtUp: false`) |
 */
import type { SimRequest } from './context';
import { parseEnvelope } from './envelope';
import type { SimResponse } from './responses';

const THREAT_FEED_PATH = '/api/ttp/threat-intel/get-feed';
const SIEM_V1_PATH = '/api/audit/get-siem-logs';

type Place = 'pagination' | 'feed-header' | 'siem-header' | 'next-page';

export interface PagedRequest {
  /** Answers on one channel follow each other: the path, plus the feed type or SIEM type it asks for. */
  channel: string;
  place: Place;
  /** The continuation token the request carried, if any. */
  token: string | undefined;
}

/** How a request to a paged endpoint carries its position; undefined for any other request. */
export function pagedRequest(request: SimRequest): PagedRequest | undefined {
  const { path } = request;
  if (path.startsWith('/siem/v1/')) {
    const type = request.query.get('type') ?? request.query.get('types') ?? '';
    return {
      channel: `${path}?${type}`,
      place: 'next-page',
      token: request.query.get('nextPage') ?? undefined,
    };
  }
  if (!path.startsWith('/api/')) return undefined;
  const parsed = parseEnvelope(request.body);
  if (!parsed.ok) return undefined;
  const { item, pageToken } = parsed.envelope;
  const itemToken = typeof item.token === 'string' && item.token !== '' ? item.token : undefined;
  if (path === THREAT_FEED_PATH) {
    return { channel: `${path}?${String(item.feedType)}`, place: 'feed-header', token: itemToken };
  }
  if (path === SIEM_V1_PATH) return { channel: path, place: 'siem-header', token: itemToken };
  return { channel: path, place: 'pagination', token: pageToken === '' ? undefined : pageToken };
}

/** `response` with its continuation token replaced by `token` (a SIEM v1 "no more files" answer is left alone). */
export function withContinuation(response: SimResponse, place: Place, token: string): SimResponse {
  if (response.status !== 200) return response;
  switch (place) {
    case 'feed-header':
      return { ...response, headers: { ...response.headers, 'x-mc-threat-feed-next-token': token } };
    case 'siem-header':
      return response.headers['mc-siem-token'] === undefined
        ? response
        : { ...response, headers: { ...response.headers, 'mc-siem-token': token } };
    case 'pagination':
    case 'next-page': {
      const body = parseJsonObject(response.body);
      if (body === undefined) return response;
      if (place === 'next-page') {
        body['@nextPage'] = token;
        body.isCaughtUp = false;
      } else {
        const meta = isObject(body.meta) ? body.meta : {};
        body.meta = {
          ...meta,
          pagination: { ...(isObject(meta.pagination) ? meta.pagination : {}), next: token },
        };
      }
      return { ...response, body: Buffer.from(JSON.stringify(body), 'utf8') };
    }
  }
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
