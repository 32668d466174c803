/**
 * A Splunk HTTP Event Collector: `POST /services/collector[/event[/1.0]]` with concatenated JSON event
 * objects, `Authorization: Splunk <token>`, HEC-shaped answers (`{"text":"Success","code":0}`), and
 * `GET /services/collector/health[/1.0]`. Like Splunk, events before an invalid one are indexed and
 * the answer names the invalid one (`invalid-event-number`).
 */
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import { parseConcatenatedObjects } from './concatenated-json';
import type { AcceptedItem, Product, Reply } from './types';

/** Splunk's HEC codes: text and HTTP status. */
export const HEC_ANSWERS: Readonly<Record<number, { text: string; status: number }>> = {
  0: { text: 'Success', status: 200 },
  1: { text: 'Token disabled', status: 403 },
  2: { text: 'Token is required', status: 401 },
  3: { text: 'Invalid authorization', status: 401 },
  4: { text: 'Invalid token', status: 403 },
  5: { text: 'No data', status: 400 },
  6: { text: 'Invalid data format', status: 400 },
  7: { text: 'Incorrect index', status: 400 },
  8: { text: 'Internal server error', status: 500 },
  9: { text: 'Server is busy', status: 503 },
  10: { text: 'Data channel is missing', status: 400 },
  11: { text: 'Invalid data channel', status: 400 },
  12: { text: 'Event field is required', status: 400 },
  13: { text: 'Event field cannot be blank', status: 400 },
  14: { text: 'ACK is disabled', status: 400 },
  15: { text: 'Error in handling indexed fields', status: 400 },
  16: { text: 'Query string authorization is not enabled', status: 400 },
  17: { text: 'HEC is healthy', status: 200 },
  18: { text: 'HEC is unhealthy, queues are full', status: 503 },
  23: { text: 'Server is shutting down', status: 503 },
  26: { text: 'HEC queue is at capacity and cannot process any more requests', status: 429 },
};

const EVENT_PATHS = new Set([
  '/services/collector',
  '/services/collector/event',
  '/services/collector/event/1.0',
]);
const HEALTH_PATHS = new Set(['/services/collector/health', '/services/collector/health/1.0']);

/** The HEC code a bare HTTP status stands for, where HEC has one. */
const CODE_FOR_STATUS: Readonly<Record<number, number>> = { 400: 6, 401: 2, 403: 4, 429: 26, 500: 8, 503: 9 };

export function hecAnswer(code: number, extra: Record<string, unknown> = {}): Reply {
  const known = HEC_ANSWERS[code] ?? { text: 'Unknown error', status: 500 };
  return { status: known.status, body: JSON.stringify({ text: known.text, code, ...extra }) };
}

export function splunkHecProduct(token: string | undefined): Product {
  return {
    ingestPath: '/services/collector/event',
    isIngest: (method, path) => method === 'POST' && EVENT_PATHS.has(path.replace(/\/+$/, '')),
    other: (method, path) => {
      if (method === 'GET' && HEALTH_PATHS.has(path.replace(/\/+$/, ''))) {
        return hecAnswer(17);
      }
      return {
        status: 404,
        body: JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }),
      };
    },
    authorize: (headers) => {
      if (token === undefined) {
        return undefined;
      }
      const header = headers.authorization;
      if (header === undefined) {
        return hecAnswer(2);
      }
      const match = /^Splunk\s+(\S+)$/.exec(header);
      if (match === null) {
        return hecAnswer(3);
      }
      return match[1] === token ? undefined : hecAnswer(4);
    },
    statusReply: (status, detail) => {
      const code = CODE_FOR_STATUS[status];
      if (code !== undefined) {
        return { ...hecAnswer(code), status };
      }
      return { status, body: JSON.stringify({ text: detail ?? STATUS_CODES[status] ?? `status ${status}` }) };
    },
    ingest: ({ body, query, fault }) => {
      if (fault?.kind === 'hec-code') {
        return {
          reply: hecAnswer(fault.code, fault.code === 6 ? { 'invalid-event-number': 0 } : {}),
          accepted: [],
        };
      }
      if (query.has('token')) {
        return { reply: hecAnswer(16), accepted: [] };
      }
      const parsed = parseConcatenatedObjects(body);
      const accepted: AcceptedItem[] = [];
      for (let n = 0; n < parsed.objects.length; n++) {
        const problem = eventProblem(parsed.objects[n]);
        if (problem !== undefined) {
          return { reply: hecAnswer(problem, { 'invalid-event-number': n }), accepted };
        }
        const item = parsed.objects[n] as { event: unknown };
        const id = (item.event as { id?: unknown } | null)?.id;
        accepted.push({ envelope: item.event as Envelope, id: typeof id === 'string' ? id : '', raw: item });
      }
      if ('invalidAt' in parsed) {
        return { reply: hecAnswer(6, { 'invalid-event-number': parsed.invalidAt }), accepted };
      }
      if (accepted.length === 0) {
        return { reply: hecAnswer(5), accepted };
      }
      return { reply: hecAnswer(0), accepted };
    },
    reset: () => {},
  };
}

/** The HEC code for an unacceptable event object, or undefined when it is fine. */
function eventProblem(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 6;
  }
  const event = value as Record<string, unknown>;
  if (!('event' in event)) {
    return 12;
  }
  if (event.event === '' || event.event === null) {
    return 13;
  }
  const time = event.time;
  if (
    time !== undefined &&
    typeof time !== 'number' &&
    !(typeof time === 'string' && /^\d+(\.\d+)?$/.test(time))
  ) {
    return 6;
  }
  return undefined;
}
