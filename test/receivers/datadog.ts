/**
 * Datadog's logs intake v2: `POST /api/v2/logs` with `DD-API-KEY`, a JSON array of log entries (or
 * one entry), plain, gzip or deflate; `202 {}` when accepted. Limits per request as documented: at most
 * 5 MB uncompressed (else 413), at most 1,000 entries, and an entry over 1 MB is accepted and
 * truncated (flagged `truncated`, its `event` replaced by the cut text). Errors carry
 * `{"errors":[{"status","title","detail"}]}`.
 */
import { STATUS_CODES } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Product, Reply } from './types';

export const DATADOG_MAX_PAYLOAD_BYTES = 5_000_000;
export const DATADOG_MAX_ENTRY_BYTES = 1_000_000;
export const DATADOG_MAX_ENTRIES = 1_000;

const ENVELOPE_FIELDS = ['id', 'stream', 'logType', 'time', 'instance', 'event'] as const;

export function datadogError(status: number, detail: string, headers?: Record<string, string>): Reply {
  return {
    status,
    body: JSON.stringify({ errors: [{ status: String(status), title: STATUS_CODES[status] ?? '', detail }] }),
    headers,
  };
}

export function datadogProduct(apiKey: string | undefined): Product {
  return {
    ingestPath: '/api/v2/logs',
    encodings: ['gzip', 'deflate'],
    limits: { wireBytes: DATADOG_MAX_PAYLOAD_BYTES, decodedBytes: DATADOG_MAX_PAYLOAD_BYTES },
    isIngest: (method, path) => method === 'POST' && path === '/api/v2/logs',
    other: () => datadogError(400, 'HTTP path is invalid'),
    authorize: (headers) => {
      if (apiKey === undefined) {
        return undefined;
      }
      const given = headers['dd-api-key'];
      if (given === undefined || given === '') {
        return datadogError(401, 'API key is missing');
      }
      return given === apiKey ? undefined : datadogError(403, 'API key is invalid');
    },
    statusReply: (status, detail) =>
      datadogError(status, detail ?? STATUS_CODES[status] ?? `status ${status}`),
    tooLarge: ({ bytes, limit }) =>
      datadogError(
        413,
        `Payload too large: ${bytes === undefined ? `more than ${limit}` : bytes} bytes uncompressed, the limit is ${limit}`,
      ),
    ingest: ({ body }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { reply: datadogError(400, 'Malformed JSON payload'), accepted: [] };
      }
      const entries = Array.isArray(parsed) ? parsed : [parsed];
      if (entries.length > DATADOG_MAX_ENTRIES) {
        return {
          reply: datadogError(
            413,
            `Too many log entries: ${entries.length}, the limit is ${DATADOG_MAX_ENTRIES}`,
          ),
          accepted: [],
        };
      }
      if (!entries.every((entry) => typeof entry === 'object' && entry !== null && !Array.isArray(entry))) {
        return { reply: datadogError(400, 'Each log entry must be a JSON object'), accepted: [] };
      }
      const accepted = (entries as Record<string, unknown>[]).map((entry) => stored(entry));
      const truncated = accepted.filter((item) => item.truncated).length;
      return {
        reply: { status: 202, body: '{}' },
        accepted,
        warning:
          truncated > 0 ? `${truncated} entries over ${DATADOG_MAX_ENTRY_BYTES} bytes truncated` : undefined,
      };
    },
    reset: () => {},
  };
}

/** An entry as Datadog keeps it: whole, or its JSON text cut at 1 MB. */
function stored(entry: Record<string, unknown>): AcceptedItem {
  const text = JSON.stringify(entry);
  const envelope: Record<string, unknown> = {};
  for (const field of ENVELOPE_FIELDS) {
    if (field in entry) envelope[field] = entry[field];
  }
  const id = typeof entry.id === 'string' ? entry.id : '';
  if (Buffer.byteLength(text) <= DATADOG_MAX_ENTRY_BYTES) {
    return { envelope: envelope as unknown as Envelope, id, raw: entry };
  }
  const cut = Buffer.from(text).subarray(0, DATADOG_MAX_ENTRY_BYTES).toString('utf8');
  return {
    envelope: { ...envelope, event: cut } as unknown as Envelope,
    id,
    raw: cut,
    truncated: true,
  };
}
