/**
 * Issue 7, bad input: the shapes around the records. Mimecast's envelopes (`fail[]` in both its
 * shapes, any HTTP status), pagination tokens of any type and size, STIX bundles, API 2.0 batch
 * listings, and the cursors the engine stores between ticks.
 *
 * Properties, each over loopback HTTP through the real client:
 * - whatever the answer, the outcome is a page or a CollectorError, after a bounded number of calls;
 * - a non-empty `fail[]` is never taken for a page ("no data");
 * - a page's next cursor, whatever token the server sent, is a cursor the source accepts again;
 * - a corrupted stored cursor is a RequestError before any call, and the engine neither crashes nor
 *   re-seeds the stream: the checkpoint keeps the cursor, records the error, and fails again next tick.
 *
 * test/mimecast/fuzz.test.ts covers random bytes and random JSON on one window endpoint; this adds
 * structured envelopes on every endpoint kind, tokens and stored cursors.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { Agent } from 'undici';
import type { Checkpoint, CheckpointStore } from '../../lambda/core/checkpoint';
import { type Cursor, type Sink, type SourceRecord, silentLog } from '../../lambda/core/ports';
import type { TickResult } from '../../lambda/core/results';
import type { StreamId } from '../../lambda/core/streams';
import { CollectorError, ProtocolError, RequestError } from '../../lambda/errors';
import { createMimecastClient, type MimecastStreamSource } from '../../lambda/mimecast';
import { buildTick } from '../../lambda/root';
import { openLocalCheckpointStore } from '../../lambda/state/local-store';
import { MemoryCheckpointStore } from '../core/support/memory-checkpoint-store';
import { rigSettings } from '../kit/settings';
import {
  budget,
  startServer,
  type TestServer,
  v1Credentials,
  v2Credentials,
} from '../mimecast/support/server';

type Kind = 'audit' | 'ttp-url' | 'malware-grid' | 'siem';

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

let server: TestServer;
let dispatcher: Agent;
let answer: (path: string) => Answer = () => ({ status: 500, body: '' });

beforeAll(async () => {
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
  server = await startServer((req, res) => {
    const a =
      req.path === '/oauth/token'
        ? { status: 200, body: JSON.stringify({ access_token: 'protocol-test-token', expires_in: 1799 }) }
        : answer(req.path);
    res.writeHead(a.status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(a.body)),
      ...a.headers,
    });
    res.end(a.body);
  });
});

afterAll(async () => {
  await dispatcher.close();
  await server.close();
});

/** Calls other than fetching a token. */
function apiCalls(): number {
  return server.requests.filter((r) => r.path !== '/oauth/token').length;
}

const MAX_ATTEMPTS = 2;

function source(api: 1 | 2, stream: StreamId): MimecastStreamSource {
  return createMimecastClient({
    baseUrl: server.url,
    credentials: api === 1 ? v1Credentials : v2Credentials,
    dispatcher,
    retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 1, maxDelayMs: 2 },
    siemTypes: ['receipt', 'process'],
  }).source(stream);
}

/**
 * One tick of the API 1.0 audit stream through the composition root, into a destination that
 * acknowledges everything (these tests are about what the source and the store make of bad input).
 */
function auditTick(store: CheckpointStore, owner: string): Promise<TickResult> {
  const settings = rigSettings({
    instance: 'bad-input',
    apiVersion: 1,
    mimecastBaseUrl: server.url,
    streams: ['audit'],
    sinkUrl: 'http://127.0.0.1:9/unused',
    sinkFormat: 'ndjson',
    siemEventTypes: ['receipt', 'process'],
  });
  const acknowledgeAll: Sink = { sizeOf: () => 1, send: async () => ({ bytes: 0 }) };
  return buildTick(
    settings,
    { log: silentLog, store, credentials: { mimecast: v1Credentials }, dispatcher },
    {
      mimecast: { retry: { maxAttempts: MAX_ATTEMPTS, baseDelayMs: 1, maxDelayMs: 2 } },
      wrapSink: () => acknowledgeAll,
    },
  ).run({ owner, deadline: Date.now() + 30_000, streams: settings.streams });
}

interface Read {
  error?: unknown;
  records: SourceRecord[];
  next?: Cursor;
  calls: number;
}

async function read(src: MimecastStreamSource, cursor?: Cursor): Promise<Read> {
  const before = apiCalls();
  const records: SourceRecord[] = [];
  try {
    const page = await src.fetchPage(
      cursor ?? src.seed(new Date(Date.now() - 3_600_000), new Date()),
      budget(5000),
    );
    for await (const record of page.records) records.push(record);
    return { records, next: page.end().next, calls: apiCalls() - before };
  } catch (error) {
    return { error, records, calls: apiCalls() - before };
  }
}

const KINDS: Array<[1 | 2, Kind]> = [
  [1, 'audit'],
  [2, 'audit'],
  [2, 'ttp-url'],
  [1, 'malware-grid'],
  [1, 'siem'],
  [2, 'siem'],
];

// ---------------------------------------------------------------------------------------------
// Envelopes

const code = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    'err_xdk_binding_expired',
    'err_audit_siem_invalid_token',
    'app_forbidden',
    'err_validation_blank',
    'err_audit_log_incorrect_region',
    'err_internal',
  ),
  fc.integer(),
);
const failure = fc.record(
  {
    code,
    message: fc.oneof(fc.string({ maxLength: 60 }), fc.integer()),
    retryable: fc.oneof(fc.boolean(), fc.string()),
  },
  { requiredKeys: [] },
);
/** Both documented shapes (1.0 nested `errors[]`, 2.0 flat), and junk where an entry should be. */
const failEntry = fc.oneof(
  failure,
  fc.record(
    { key: fc.jsonValue(), errors: fc.array(failure, { maxLength: 3 }) },
    { requiredKeys: ['errors'] },
  ),
  fc.string({ maxLength: 20 }),
  fc.constant(null),
  fc.integer(),
);
/** 2xx more often than not: there, only fail[] tells an error from an empty page. */
const status = fc.constantFrom(200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503);

describe('Mimecast envelopes', () => {
  it.each(KINDS)(
    'API %i %s: a non-empty fail[] is a CollectorError under any status, never a page',
    async (api, kind) => {
      const src = source(api, kind);
      await fc.assert(
        fc.asyncProperty(status, fc.array(failEntry, { minLength: 1, maxLength: 4 }), async (s, fail) => {
          // Without fail[] this body is a valid empty page on every endpoint kind (`value` for the
          // API 2.0 SIEM listing): only fail[] can make it an error.
          const body = JSON.stringify({ meta: { status: s, isLastToken: true }, data: [], value: [], fail });
          answer = () => ({ status: s === 204 ? 200 : s, body, headers: { 'retry-after': '0' } });
          const outcome = await read(src);
          expect(outcome.error).toBeInstanceOf(CollectorError);
          expect(outcome.records).toEqual([]);
          // Bounded: the retry budget, plus one re-authentication on API 2.0.
          expect(outcome.calls).toBeLessThanOrEqual(MAX_ATTEMPTS + 1);
        }),
        { numRuns: 30 },
      );
    },
  );

  it.each(KINDS)('API %i %s: any JSON under any status is a page or a CollectorError', async (api, kind) => {
    const src = source(api, kind);
    await fc.assert(
      fc.asyncProperty(status, fc.jsonValue({ maxDepth: 3 }), async (s, value) => {
        const body = JSON.stringify(value) ?? 'null';
        answer = () => ({ status: s === 204 ? 200 : s, body, headers: { 'retry-after': '0' } });
        const outcome = await read(src);
        if (outcome.error !== undefined) expect(outcome.error).toBeInstanceOf(CollectorError);
        else expect(s).toBeLessThan(300);
        expect(outcome.calls).toBeLessThanOrEqual(MAX_ATTEMPTS + 1);
      }),
      { numRuns: 30 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Pagination tokens

/** Any token value a server might send: strings of any kind and size, and other types. */
const token = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
  fc.constant(''),
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  fc.constant('x'.repeat(20_000)),
);

const auditRecord = (i: number) => ({
  id: `evt-${i}`,
  auditType: 'Logon',
  category: 'authentication_logs',
  eventTime: new Date(Date.now() - 7_200_000 + i * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000'),
});

async function expectAcceptedAgain(
  src: MimecastStreamSource,
  next: Cursor,
  emptyAnswer: Answer,
): Promise<void> {
  // Stored as JSON text, read back: the same cursor.
  const stored = JSON.parse(JSON.stringify(next)) as Cursor;
  expect(stored).toEqual(next);
  answer = () => emptyAnswer;
  const again = await read(src, stored);
  expect(again.error).toBeUndefined();
}

describe('pagination tokens', () => {
  it('window endpoints: any meta.pagination.next gives a next cursor the source accepts again, and the token is sent back', async () => {
    const src = source(2, 'audit');
    await fc.assert(
      fc.asyncProperty(token, fc.integer({ min: 0, max: 3 }), async (next, count) => {
        const body = JSON.stringify({
          meta: { status: 200, pagination: { next } },
          data: Array.from({ length: count }, (_, i) => auditRecord(i)),
          fail: [],
        });
        answer = () => ({ status: 200, body });
        const first = await read(src);
        if (first.error !== undefined) {
          // Only a token that is not a string may be refused, and then as a malformed answer.
          expect(first.error).toBeInstanceOf(ProtocolError);
          expect(typeof next === 'string' || next === null).toBe(false);
          return;
        }
        expect(first.records).toHaveLength(count);
        const cursor = first.next as Cursor;
        const followed = typeof next === 'string' && next !== '' && count > 0;
        expect(cursor.pageToken).toBe(followed ? next : null);
        server.requests.length = 0;
        await expectAcceptedAgain(src, cursor, {
          status: 200,
          body: JSON.stringify({ meta: { status: 200 }, data: [], fail: [] }),
        });
        const sent = server.requests.filter((r) => r.path !== '/oauth/token').map((r) => JSON.parse(r.body));
        for (const request of sent)
          expect(request.meta.pagination.pageToken).toBe(followed ? next : undefined);
      }),
      { numRuns: 60 },
    );
  });

  it('threat feed: any x-mc-threat-feed-next-token header gives a next cursor the source accepts again', async () => {
    const src = source(1, 'malware-grid');
    const headerSafe = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x21-\x7e ]/g, ''));
    await fc.assert(
      fc.asyncProperty(headerSafe, async (next) => {
        const indicator = {
          type: 'indicator',
          id: 'indicator--1',
          modified: new Date(Date.now() - 7_200_000).toISOString(),
        };
        answer = () => ({
          status: 200,
          body: JSON.stringify({ type: 'bundle', objects: [indicator] }),
          headers: { 'x-mc-threat-feed-next-token': next },
        });
        const first = await read(src);
        expect(first.error).toBeUndefined();
        const cursor = first.next as Cursor;
        expect(cursor.pageToken).toBe(next.trim() === '' ? null : next.trim());
        await expectAcceptedAgain(src, cursor, {
          status: 200,
          body: JSON.stringify({ type: 'bundle', objects: [] }),
        });
      }),
      { numRuns: 40 },
    );
  });

  it('API 1.0 SIEM: any mc-siem-token header gives a next cursor the source accepts again', async () => {
    const src = source(1, 'siem');
    const headerToken = fc
      .string({ minLength: 1, maxLength: 200 })
      .map((s) => s.replace(/[^\x21-\x7e]/g, 'a'));
    await fc.assert(
      fc.asyncProperty(headerToken, async (next) => {
        const file = JSON.stringify({
          type: 'MTA',
          data: [{ datetime: '2024-06-05T12:00:00+0000', aCode: 'a' }],
        });
        answer = () => ({
          status: 200,
          body: file,
          headers: {
            'mc-siem-token': next,
            'content-disposition': 'attachment; filename="receipt_20240605120000000.json"',
          },
        });
        const first = await read(src, { token: null, since: '2024-01-01T00:00:00.000Z' });
        expect(first.error).toBeUndefined();
        expect((first.next as Cursor).token).toBe(next);
        await expectAcceptedAgain(src, first.next as Cursor, {
          status: 200,
          body: JSON.stringify({ meta: { isLastToken: true }, data: [], fail: [] }),
        });
      }),
      { numRuns: 40 },
    );
  });

  it('API 2.0 SIEM: any listing (@nextPage of any type, isCaughtUp, file entries) is a page or a CollectorError, and a page cursor is accepted again', async () => {
    const src = source(2, 'siem');
    const listing = fc.record(
      {
        value: fc.oneof(
          fc.constant([]),
          fc.array(
            fc.record(
              {
                url: fc.oneof(fc.constant('ftp://files.example/x.gz'), fc.string({ maxLength: 10 })),
                size: fc.jsonValue(),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 2 },
          ),
          fc.jsonValue(),
        ),
        '@nextPage': token,
        isCaughtUp: fc.oneof(fc.boolean(), fc.string({ maxLength: 3 })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(listing, async (body) => {
        answer = () => ({ status: 200, body: JSON.stringify(body) });
        const first = await read(src);
        if (first.error !== undefined) {
          expect(first.error).toBeInstanceOf(CollectorError);
          return;
        }
        expect(first.records).toEqual([]);
        await expectAcceptedAgain(src, first.next as Cursor, {
          status: 200,
          body: JSON.stringify({ value: [], isCaughtUp: true }),
        });
      }),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// STIX bundles

describe('STIX bundles', () => {
  const time = fc.oneof(
    fc
      .date({ min: new Date('2000-01-01'), max: new Date('2099-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    fc.string({ maxLength: 20 }),
    fc.integer(),
    fc.constant(null),
    fc.constant('2024-02-30T00:00:00Z'),
  );
  const stixObject = fc.oneof(
    fc.record(
      {
        type: fc.oneof(
          fc.constantFrom('indicator', 'malware', 'relationship'),
          fc.string({ maxLength: 8 }),
          fc.integer(),
        ),
        id: fc.string({ maxLength: 12 }),
        modified: time,
        created: time,
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 1 }),
  );

  it.each([1, 2] as const)(
    'API %i: any bundle is a page of valid times and log types, or a CollectorError',
    async (api) => {
      const src = source(api, 'malware-customer');
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.constant('bundle'), fc.string({ maxLength: 6 })),
          fc.array(stixObject, { maxLength: 5 }),
          async (type, objects) => {
            answer = () => ({ status: 200, body: JSON.stringify({ type, id: 'bundle--1', objects }) });
            const outcome = await read(src);
            if (outcome.error !== undefined) {
              expect(outcome.error).toBeInstanceOf(CollectorError);
              return;
            }
            for (const record of outcome.records) {
              expect(new Date(record.time).toISOString()).toBe(record.time);
              expect(typeof record.logType).toBe('string');
              expect(record.logType).not.toBe('');
            }
          },
        ),
        { numRuns: 60 },
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Stored cursors

/** Values of every JSON type, to put where a cursor field should be. */
const wrongValue = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 10 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);

interface Corruption {
  field: string;
  value?: unknown;
  remove: boolean;
}

/** A change that certainly breaks a cursor whose fields are `fields` (a non-string time, a missing field...). */
function corruption(
  fields: Record<string, 'time' | 'token' | 'token-or-null' | 'ids' | 'open-time' | 'pages' | 'types'>,
) {
  return fc
    .record({ field: fc.constantFrom(...Object.keys(fields)), value: wrongValue, remove: fc.boolean() })
    .filter(({ field, value, remove }) => {
      if (remove) return true;
      const v = value as unknown;
      switch (fields[field]) {
        case 'time':
          return typeof v !== 'string' || Number.isNaN(Date.parse(v));
        case 'open-time':
          return v !== null && (typeof v !== 'string' || Number.isNaN(Date.parse(v)));
        case 'token':
          return typeof v !== 'string' || v === '';
        case 'token-or-null':
          return v !== null && (typeof v !== 'string' || v === '');
        case 'ids':
        case 'types':
          return !Array.isArray(v) || v.some((x) => typeof x !== 'string');
        case 'pages':
          return (
            typeof v !== 'object' ||
            v === null ||
            Array.isArray(v) ||
            Object.values(v).some((x) => x !== null && (typeof x !== 'string' || x === ''))
          );
      }
      return false;
    });
}

function corrupt(cursor: Cursor, c: Corruption): Cursor {
  const out: Record<string, unknown> = { ...cursor };
  if (c.remove) delete out[c.field];
  else out[c.field] = c.value;
  return out as Cursor;
}

const CURSOR_FIELDS = {
  window: {
    from: 'time',
    to: 'open-time',
    pageToken: 'token-or-null',
    skipIds: 'ids',
    newest: 'time',
    newestIds: 'ids',
  },
  siemV1: { token: 'token-or-null', since: 'time' },
  siemV2: { since: 'time', pages: 'pages', pending: 'types' },
} as const;

describe('stored cursors', () => {
  const cases: Array<[1 | 2, StreamId, keyof typeof CURSOR_FIELDS]> = [
    [1, 'audit', 'window'],
    [2, 'dlp', 'window'],
    [1, 'malware-grid', 'window'],
    [1, 'siem', 'siemV1'],
    [2, 'siem', 'siemV2'],
  ];

  it.each(cases)(
    'API %i %s: a corrupted cursor is a RequestError naming the stream, before any call',
    async (api, stream, shape) => {
      const src = source(api, stream);
      answer = () => ({ status: 500, body: '' });
      const valid = src.seed(new Date(Date.now() - 3_600_000), new Date());
      await fc.assert(
        fc.asyncProperty(corruption(CURSOR_FIELDS[shape]), async (c) => {
          const outcome = await read(src, corrupt(valid, c));
          expect(outcome.error).toBeInstanceOf(RequestError);
          const error = outcome.error as RequestError;
          expect(error.stream).toBe(stream);
          expect(error.message).toContain('stored cursor');
          expect(error.remedy).toMatch(/Reset the .* stream checkpoint/);
          expect(error.message.length).toBeLessThan(600);
          expect(outcome.calls).toBe(0);
        }),
        { numRuns: 40 },
      );
    },
  );

  it.each(cases)(
    'API %i %s: any JSON as a cursor is refused before any call, or is a cursor the source can ask with',
    async (api, stream) => {
      const src = source(api, stream);
      answer = () => ({ status: 500, body: '' });
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 2 }), async (value) => {
          const outcome = await read(src, value as Cursor);
          if (outcome.error instanceof RequestError && outcome.calls === 0) return;
          // Not refused: it must have been a usable cursor, and the failure is the server's 500.
          expect(outcome.error === undefined || outcome.error instanceof CollectorError).toBe(true);
        }),
        { numRuns: 60 },
      );
    },
  );

  it('the engine neither crashes nor re-seeds on a corrupted cursor: it keeps it, records the error and fails again', async () => {
    const store = new MemoryCheckpointStore();
    const key = { instance: 'bad-input', stream: 'audit' as const };
    const corrupted = {
      from: 'yesterday',
      to: null,
      pageToken: null,
      skipIds: [],
      newest: 'yesterday',
      newestIds: [],
    };
    const lease = await store.acquireLease(key, { owner: 'setup', expiresAt: Date.now() + 1000 }, Date.now());
    const committed = await store.commitProgress(
      key,
      { owner: 'setup', version: lease!.version },
      { cursor: corrupted, offset: 0, totals: { events: 5, pages: 1, bytes: 9 }, at: Date.now() },
    );
    await store.releaseLease(key, { owner: 'setup', version: committed.version }, Date.now());
    answer = () => ({ status: 500, body: '' });
    const before = apiCalls();

    const tick = (owner: string) => auditTick(store, owner);
    for (const [n, owner] of [
      [1, 'tick-1'],
      [2, 'tick-2'],
    ] as const) {
      const result = await tick(owner);
      expect(result.streams[0].outcome).toBe('failed');
      expect(result.streams[0].error).toBeInstanceOf(RequestError);
      const after = (await store.load(key)) as Checkpoint;
      expect(after.cursor).toEqual(corrupted);
      expect(after.totals).toEqual({ events: 5, pages: 1, bytes: 9 });
      expect(after.lastError).toMatchObject({ kind: 'request', name: 'RequestError' });
      expect(after.consecutiveFailures).toBe(n);
      expect(after.lease).toBeUndefined();
    }
    expect(apiCalls() - before).toBe(0);
  });

  it('a checkpoint item whose cursor is not JSON is a typed error from the DynamoDB store, and the item stays', async () => {
    const local = await openLocalCheckpointStore({});
    try {
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      const client = new DynamoDBClient({
        endpoint: local.endpoint,
        region: local.region,
        credentials: local.credentials,
        maxAttempts: 1,
      });
      const item = {
        instance: { S: 'bad-input' },
        stream: { S: 'audit' },
        version: { N: '3' },
        cursor: { S: '{"from":"2024-06-05T12:00:00.000Z",' },
        offset: { N: '0' },
        consecutiveFailures: { N: '0' },
        totalEvents: { N: '0' },
        totalPages: { N: '0' },
        totalBytes: { N: '0' },
        createdAt: { S: '2024-06-05T12:00:00.000Z' },
        updatedAt: { S: '2024-06-05T12:00:00.000Z' },
      };
      await client.send(new PutItemCommand({ TableName: local.tableName, Item: item }));
      answer = () => ({ status: 500, body: '' });
      const before = apiCalls();
      const result = await auditTick(local.store, 'tick');
      expect(result.streams[0].outcome).toBe('failed');
      expect(result.streams[0].error).toBeInstanceOf(CollectorError);
      expect((result.streams[0].error as CollectorError).message).toMatch(/malformed.*cursor/);
      expect(apiCalls() - before).toBe(0);
      const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
      const stored = await client.send(
        new GetItemCommand({
          TableName: local.tableName,
          Key: { instance: item.instance, stream: item.stream },
          ConsistentRead: true,
        }),
      );
      expect(stored.Item?.cursor).toEqual(item.cursor);
      client.destroy();
    } finally {
      await local.close();
    }
  });
});
