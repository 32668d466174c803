/**
 * A home-grown NDJSON pipeline endpoint: POST (any path; the URL given out is `/ingest`) with one
 * envelope per line, plain or gzip. All-or-nothing: one bad line refuses the whole body with 400.
 * `GET /health` answers 200.
 */
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Product, Reply } from './types';

const ENVELOPE_FIELDS = ['id', 'stream', 'logType', 'time', 'instance'] as const;

export function ndjsonProduct(token: string | undefined): Product {
  const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
    status,
    body: JSON.stringify(body),
    headers,
  });
  return {
    ingestPath: '/ingest',
    isIngest: (method) => method === 'POST',
    other: (method, path) =>
      method === 'GET' && path === '/health'
        ? json(200, { status: 'ok' })
        : json(404, { error: `no route for ${method} ${path}` }),
    authorize: (headers) => {
      if (token === undefined) {
        return undefined;
      }
      return headers.authorization === `Bearer ${token}`
        ? undefined
        : json(401, { error: 'missing or invalid bearer token' }, { 'www-authenticate': 'Bearer' });
    },
    statusReply: (status, detail) =>
      json(status, { error: detail ?? STATUS_CODES[status] ?? `status ${status}` }),
    ingest: ({ body }) => {
      const accepted: AcceptedItem[] = [];
      const lines = body.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (line === '') {
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          return { reply: json(400, { error: `line ${i + 1} is not JSON` }), accepted: [] };
        }
        if (!isEnvelope(value)) {
          return {
            reply: json(400, {
              error: `line ${i + 1} is not an envelope (needs string ${ENVELOPE_FIELDS.join(', ')})`,
            }),
            accepted: [],
          };
        }
        accepted.push({ envelope: value, id: value.id, raw: value });
      }
      if (accepted.length === 0) {
        return { reply: json(400, { error: 'no events in body' }), accepted };
      }
      return { reply: json(200, { accepted: accepted.length }), accepted };
    },
    reset: () => {},
  };
}

export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return ENVELOPE_FIELDS.every((field) => typeof record[field] === 'string') && 'event' in record;
}
