/**
 * An Elasticsearch `_bulk` endpoint: `POST|PUT /_bulk` or `/<index>/_bulk` with NDJSON action and
 * source lines, `Authorization: ApiKey <token>`, documents stored by index and `_id`, and answers shaped
 * like Elasticsearch 8 (`{"took","errors","items":[{"create":{...,"status"}}]}`). `create` of an
 * existing id answers 409 `version_conflict_engine_exception`, so re-sent ids show as conflicts.
 * `GET /` answers cluster info.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Envelope } from '../../lambda/core/envelope';
import type { AcceptedItem, Product, Reply } from './types';

type Action = 'create' | 'index' | 'delete' | 'update';
const ACTIONS = new Set<string>(['create', 'index', 'delete', 'update']);

interface Operation {
  action: Action;
  index: string;
  id?: string;
  source?: string;
}

/** The error type Elasticsearch uses for an item or request failing with this status. */
const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'mapper_parsing_exception',
  401: 'security_exception',
  403: 'security_exception',
  404: 'index_not_found_exception',
  409: 'version_conflict_engine_exception',
  429: 'es_rejected_execution_exception',
  500: 'illegal_state_exception',
  503: 'unavailable_shards_exception',
};

export interface StoredDocument {
  index: string;
  id: string;
  action: Action;
  document: unknown;
}

export function esError(
  status: number,
  type: string,
  reason: string,
  headers?: Record<string, string>,
): Reply {
  return {
    status,
    body: JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }),
    headers,
  };
}

export function elasticBulkProduct(token: string | undefined, defaultIndex: string): Product {
  const indices = new Map<string, Map<string, unknown>>();
  let seqNo = 0;

  const itemReason = (status: number, index: string, id: string): string => {
    switch (status) {
      case 409:
        return `[${id}]: version conflict, document already exists (current version [1])`;
      case 429:
        return `rejected execution of primary operation on EsThreadPoolExecutor[name = node-1/write, queue capacity = 10000] for index [${index}]`;
      case 400:
        return `failed to parse field [event.size] of type [long] in document with id '${id}'. Preview of field's value: 'big'`;
      case 404:
        return `no such index [${index}]`;
      default:
        return `[${index}][0] primary shard is not active`;
    }
  };

  const failure = (op: Operation, id: string, status: number) => ({
    [op.action]: {
      _index: op.index,
      _id: id,
      status,
      error: {
        type: ERROR_TYPES[status] ?? 'exception',
        reason: itemReason(status, op.index, id),
        index_uuid: 'mWf3c8ZtQ9ygzWkL2x1b3A',
        shard: '0',
        index: op.index,
      },
    },
  });

  const success = (op: Operation, id: string, status: number, result: string) => ({
    [op.action]: {
      _index: op.index,
      _id: id,
      _version: 1,
      result,
      _shards: { total: 2, successful: 1, failed: 0 },
      _seq_no: seqNo++,
      _primary_term: 1,
      status,
    },
  });

  return {
    ingestPath: `/${encodeURIComponent(defaultIndex)}/_bulk`,
    isIngest: (method, path) =>
      (method === 'POST' || method === 'PUT') && /^(\/[^/]+)?\/_bulk\/?$/.test(path),
    other: (method, path) => {
      if (method === 'GET' && path === '/') {
        return {
          status: 200,
          body: JSON.stringify({
            name: 'loopback-es',
            cluster_name: 'loopback',
            version: { number: '8.15.0', build_flavor: 'default' },
            tagline: 'You Know, for Search',
          }),
        };
      }
      return {
        status: 400,
        body: JSON.stringify({ error: `no handler found for uri [${path}] and method [${method}]` }),
      };
    },
    authorize: (headers) => authorize(headers, token),
    statusReply: (status, detail) => {
      if (status === 413) {
        // Elasticsearch refuses an oversized request before reading it, with an empty body.
        return { status, body: '' };
      }
      const type = ERROR_TYPES[status] ?? 'exception';
      return esError(status, type, detail ?? `simulated ${type}`);
    },
    ingest: ({ path, headers, body, fault }) => {
      const started = Date.now();
      const contentType = String(headers['content-type'] ?? '');
      if (!/^application\/(json|x-ndjson|vnd\.elasticsearch\+(json|x-ndjson))\b/i.test(contentType)) {
        return {
          reply: {
            status: 406,
            body: JSON.stringify({
              error: `Content-Type header [${contentType}] is not supported`,
              status: 406,
            }),
          },
          accepted: [],
        };
      }
      if (!body.endsWith('\n')) {
        return {
          reply: esError(
            400,
            'illegal_argument_exception',
            'The bulk request must be terminated by a newline [\\n]',
          ),
          accepted: [],
        };
      }
      const urlIndex = /^\/([^/]+)\/_bulk\/?$/.exec(path)?.[1];
      const parsed = parseOperations(body, urlIndex === undefined ? undefined : decodeURIComponent(urlIndex));
      if ('error' in parsed) {
        return { reply: parsed.error, accepted: [] };
      }
      const forced = fault?.kind === 'bulk-items' ? fault.statuses : {};
      const accepted: AcceptedItem[] = [];
      const items = parsed.operations.map((op, position) => {
        const id = op.id ?? randomBytes(15).toString('base64url');
        const store = indices.get(op.index) ?? new Map<string, unknown>();
        const forcedStatus = forced[position];
        if (forcedStatus !== undefined) {
          return forcedStatus < 300
            ? success(op, id, forcedStatus, 'created')
            : failure(op, id, forcedStatus);
        }
        if (op.action === 'delete') {
          const existed = store.delete(id);
          return existed ? success(op, id, 200, 'deleted') : success(op, id, 404, 'not_found');
        }
        if (op.action === 'update') {
          return {
            update: {
              _index: op.index,
              _id: id,
              status: 400,
              error: {
                type: 'illegal_argument_exception',
                reason: 'update is not supported by this receiver',
              },
            },
          };
        }
        let document: unknown;
        try {
          document = JSON.parse(op.source ?? '');
        } catch {
          document = undefined;
        }
        if (typeof document !== 'object' || document === null || Array.isArray(document)) {
          return {
            [op.action]: {
              _index: op.index,
              _id: id,
              status: 400,
              error: {
                type: 'document_parsing_exception',
                reason: '[1:1] failed to parse: not a JSON object',
              },
            },
          };
        }
        if (op.action === 'create' && store.has(id)) {
          return failure(op, id, 409);
        }
        const existed = store.has(id);
        store.set(id, document);
        indices.set(op.index, store);
        const raw: StoredDocument = { index: op.index, id, action: op.action, document };
        accepted.push({ envelope: document as Envelope, id, raw });
        return existed ? success(op, id, 200, 'updated') : success(op, id, 201, 'created');
      });
      // Like Elasticsearch: `errors` is set by items carrying an error (a delete of nothing has none).
      const errors = items.some((item) => 'error' in (Object.values(item)[0] as object));
      return {
        reply: { status: 200, body: JSON.stringify({ took: Date.now() - started, errors, items }) },
        accepted,
      };
    },
    reset: () => {
      indices.clear();
      seqNo = 0;
    },
  };
}

function authorize(headers: IncomingHttpHeaders, token: string | undefined): Reply | undefined {
  if (token === undefined) {
    return undefined;
  }
  const header = headers.authorization;
  const challenge = { 'www-authenticate': 'ApiKey' };
  if (header === undefined) {
    return esError(
      401,
      'security_exception',
      'missing authentication credentials for REST request [/_bulk]',
      challenge,
    );
  }
  if (header !== `ApiKey ${token}`) {
    return esError(
      401,
      'security_exception',
      'unable to authenticate with provided credentials and anonymous access is not allowed for this request',
      challenge,
    );
  }
  return undefined;
}

function parseOperations(
  body: string,
  urlIndex: string | undefined,
): { operations: Operation[] } | { error: Reply } {
  const lines = body.split('\n');
  const operations: Operation[] = [];
  let missingIndex = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') {
      continue;
    }
    let action: unknown;
    try {
      action = JSON.parse(lines[i]);
    } catch {
      return {
        error: esError(
          400,
          'x_content_parse_exception',
          `[1:1] Unexpected character on action line [${i + 1}]`,
        ),
      };
    }
    const keys = typeof action === 'object' && action !== null ? Object.keys(action) : [];
    if (keys.length !== 1 || !ACTIONS.has(keys[0])) {
      return {
        error: esError(
          400,
          'illegal_argument_exception',
          `Malformed action/metadata line [${i + 1}], expected one of create, index, delete, update`,
        ),
      };
    }
    const name = keys[0] as Action;
    const meta = (action as Record<string, Record<string, unknown> | null>)[name] ?? {};
    const index = typeof meta._index === 'string' ? meta._index : urlIndex;
    if (index === undefined) {
      missingIndex++;
    }
    const op: Operation = {
      action: name,
      index: index ?? '',
      id: typeof meta._id === 'string' ? meta._id : undefined,
    };
    if (name !== 'delete') {
      i++;
      if (i >= lines.length || lines[i].trim() === '') {
        return {
          error: esError(
            400,
            'illegal_argument_exception',
            `The bulk request has no source for the action on line [${i}]`,
          ),
        };
      }
      op.source = lines[i];
    }
    operations.push(op);
  }
  if (missingIndex > 0) {
    const reasons = Array.from({ length: missingIndex }, (_, n) => `${n + 1}: index is missing;`).join(' ');
    return { error: esError(400, 'action_request_validation_exception', `Validation Failed: ${reasons}`) };
  }
  return { operations };
}
