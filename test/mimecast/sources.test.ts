import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { Agent } from 'undici';
import { eventId } from '../../lambda/core/envelope';
import type { Cursor, SourceRecord } from '../../lambda/core/ports';
import {
  CollectorError,
  InvalidSiemTokenError,
  PagingStalledError,
  ProtocolError,
  RequestError,
  TransientError,
} from '../../lambda/errors';
import { createMimecastClient, type MimecastClientOptions } from '../../lambda/mimecast';
import { expectedEventId } from '../support/event-ids';
import {
  budget,
  collect,
  collectParsed,
  json,
  memoryLog,
  startServer,
  type TestServer,
  v1Credentials,
  v2Credentials,
  withParsedEvent,
} from './support/server';

const NOW = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const SIEM_V1 = '/api/audit/get-siem-logs';
const BATCH = '/siem/v1/batch/events/cg';

let server: TestServer;
let dispatcher: Agent;

beforeEach(async () => {
  server = await startServer();
  dispatcher = new Agent({ keepAliveTimeout: 1000 });
});
afterEach(async () => {
  await dispatcher.close();
  await server.close();
});

function client(overrides: Partial<MimecastClientOptions> = {}) {
  return createMimecastClient({
    baseUrl: server.url,
    credentials: v1Credentials,
    dispatcher,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<CollectorError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    return err as CollectorError;
  }
  throw new Error('expected a failure');
}

function sendFile(res: ServerResponse, body: Uint8Array, headers: Record<string, string>) {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': body.length,
    ...headers,
  });
  res.end(Buffer.from(body));
}

const noMoreFiles = { meta: { isLastToken: true, status: 200 }, data: [], fail: [] };
const mta = (records: unknown[]) => JSON.stringify({ type: 'MTA', data: records });
const receipt = (n: number, datetime = '2024-06-05T13:00:00+0100') => ({
  acc: 'C0A0',
  datetime,
  aCode: `a${n}`,
  Act: 'Acc',
});

describe('siem on API 1.0', () => {
  // Before the fixed 2024 record times: records older than the start are dropped.
  const start = new Date('2024-01-01T00:00:00Z');

  function siemServer(files: { name: string; body: Uint8Array; token: string }[], echoToken = false) {
    server.handle((req, res) => {
      const item = JSON.parse(req.body).data[0];
      const index = item.token === undefined ? 0 : files.findIndex((f) => f.token === item.token) + 1;
      if (index < files.length) {
        const file = files[index];
        sendFile(res, file.body, {
          'mc-siem-token': file.token,
          'content-disposition': `attachment; filename="${file.name}"`,
        });
      } else {
        json(res, 200, noMoreFiles, echoToken ? { 'mc-siem-token': 'echoed-token' } : {});
      }
    });
  }

  it('follows mc-siem-token through zip files (sniffed, whatever the name says) until "no more files"', async () => {
    siemServer([
      {
        name: 'receipt_20240605120000000.json',
        body: zipSync({ 'receipt_20240605120000000.json': strToU8(mta([receipt(1), receipt(2)])) }),
        token: 't1',
      },
      {
        name: 'process_20240605123000000.zip',
        body: zipSync({
          'process_20240605123000000.json': strToU8(
            mta([{ acc: 'C', datetime: '2024-06-05T12:30:00-0400', aCode: 'p' }]),
          ),
        }),
        token: 't2',
      },
    ]);
    const source = client().source('siem');
    let cursor: Cursor = source.seed(start, new Date(NOW));
    const records: SourceRecord[] = [];
    const ends: boolean[] = [];
    for (let i = 0; i < 5; i += 1) {
      const page = await source.fetchPage(cursor, budget());
      records.push(...(await collectParsed(page.records)));
      const end = page.end();
      cursor = end.next;
      ends.push(end.caughtUp);
      if (end.caughtUp) break;
    }
    expect(ends).toEqual([false, false, true]);
    expect(cursor).toEqual({ token: 't2', since: start.toISOString() });
    expect(records).toEqual([
      {
        id: expectedEventId('siem', receipt(1)),
        logType: 'receipt',
        time: '2024-06-05T12:00:00.000Z',
        event: receipt(1),
      },
      {
        id: expectedEventId('siem', receipt(2)),
        logType: 'receipt',
        time: '2024-06-05T12:00:00.000Z',
        event: receipt(2),
      },
      {
        id: expectedEventId('siem', { acc: 'C', datetime: '2024-06-05T12:30:00-0400', aCode: 'p' }),
        logType: 'process',
        time: '2024-06-05T16:30:00.000Z',
        event: { acc: 'C', datetime: '2024-06-05T12:30:00-0400', aCode: 'p' },
      },
    ]);
    const bodies = server.requests.map((r) => JSON.parse(r.body));
    expect(bodies[0]).toEqual({ data: [{ type: 'MTA', fileFormat: 'json', compress: true }] });
    expect(bodies[1].data[0].token).toBe('t1');
    expect(bodies[2].data[0].token).toBe('t2');
    expect(server.requests[0].headers.accept).toBe('*/*');
  });

  it('keeps its own token when "no more files" comes with an mc-siem-token header', async () => {
    siemServer([], true);
    const source = client().source('siem');
    const page = await source.fetchPage({ token: 'mine', since: start.toISOString() }, budget());
    expect(await collect(page.records)).toEqual([]);
    expect(page.end()).toEqual({ next: { token: 'mine', since: start.toISOString() }, caughtUp: true });
  });

  it('reads key_value files with CRLF and two-part log types, and asks for that format', async () => {
    const text =
      'datetime=2024-06-05T13:00:00+0100|acc=C0A0|url=https://x.example/a?b=c|action=Block\r\n' +
      'datetime=2024-06-05T13:00:01+0100|acc=C0A0|url=https://y.example|action=Allow\r\n';
    siemServer([
      {
        name: 'ttp_url_20240605120000000.log',
        body: zipSync({ 'ttp_url_20240605120000000.log': strToU8(text) }),
        token: 't1',
      },
    ]);
    const source = client({ siemFileFormat: 'key_value' }).source('siem');
    const page = await source.fetchPage(source.seed(start, new Date(NOW)), budget());
    const records = await collect(page.records);
    expect(records.map((r) => [r.logType, r.time])).toEqual([
      ['ttp_url', '2024-06-05T12:00:00.000Z'],
      ['ttp_url', '2024-06-05T12:00:01.000Z'],
    ]);
    expect(records[0].event).toEqual({
      datetime: '2024-06-05T13:00:00+0100',
      acc: 'C0A0',
      url: 'https://x.example/a?b=c',
      action: 'Block',
    });
    expect(JSON.parse(server.requests[0].body).data[0].fileFormat).toBe('key_value');
  });

  it('reads an uncompressed file and drops records older than the collection start', async () => {
    siemServer([
      {
        name: 'jrnl_20240605120000000.json',
        body: strToU8(mta([receipt(1, '2020-01-01T00:00:00+0000'), receipt(2)])),
        token: 't1',
      },
    ]);
    const source = client().source('siem');
    const page = await source.fetchPage(
      source.seed(new Date('2024-01-01T00:00:00Z'), new Date(NOW)),
      budget(),
    );
    expect((await collectParsed(page.records)).map((r) => (r.event as { aCode: string }).aCode)).toEqual([
      'a2',
    ]);
  });

  it('gives each record its own time when datetimes repeat, change, are numbers or are missing', async () => {
    const at = (n: number, datetime: unknown) => ({ ...receipt(n), datetime });
    siemServer([
      {
        name: 'receipt_20240605110000000.json',
        body: strToU8(
          mta([
            at(1, '2024-06-05T13:00:00+0100'),
            at(2, '2024-06-05T13:00:00+0100'),
            at(3, '2024-06-05T13:00:01+0100'),
            at(4, 1717592402000),
            at(5, '2024-06-05T13:00:01+0100'),
            at(6, 'not a time'),
            at(7, '2024-06-05T13:00:01+0100'),
            at(8, '2024-06-05T13:00:01+0000'),
          ]),
        ),
        token: 't1',
      },
    ]);
    const source = client().source('siem');
    const page = await source.fetchPage(source.seed(start, new Date(NOW)), budget());
    expect((await collectParsed(page.records)).map((r) => r.time)).toEqual([
      '2024-06-05T12:00:00.000Z',
      '2024-06-05T12:00:00.000Z',
      '2024-06-05T12:00:01.000Z',
      '2024-06-05T13:00:02.000Z',
      '2024-06-05T12:00:01.000Z',
      '2024-06-05T11:00:00.000Z', // no valid datetime: the file name's time
      '2024-06-05T12:00:01.000Z',
      '2024-06-05T13:00:01.000Z',
    ]);
  });

  it.each([200, 400])(
    'maps err_audit_siem_invalid_token (HTTP %i) to InvalidSiemTokenError',
    async (status) => {
      server.handle((_, res) =>
        json(res, status, {
          meta: { status },
          data: [],
          fail: [
            {
              key: {},
              errors: [{ code: 'err_audit_siem_invalid_token', message: 'bad token', retryable: false }],
            },
          ],
        }),
      );
      const error = await failure(
        client().source('siem').fetchPage({ token: 'stale', since: start.toISOString() }, budget()),
      );
      expect(error).toBeInstanceOf(InvalidSiemTokenError);
      expect(error.remedy).toMatch(/checkpoint/);
    },
  );

  it.each([
    [
      'HTML',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>maintenance</html>');
      },
    ],
    ['an unknown JSON shape', (res: ServerResponse) => json(res, 200, { hello: 'world' })],
    [
      'a zip without mc-siem-token',
      (res: ServerResponse) => sendFile(res, zipSync({ 'a.json': strToU8(mta([])) }), {}),
    ],
    [
      'JSON with data but no file headers',
      (res: ServerResponse) => json(res, 200, { type: 'MTA', data: [receipt(1)] }),
    ],
  ])('refuses %s as ProtocolError, never as "no data"', async (_, answer) => {
    server.handle((__, res) => answer(res));
    const error = await failure(
      client().source('siem').fetchPage({ token: 't', since: start.toISOString() }, budget()),
    );
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.endpoint).toBe(`POST ${SIEM_V1}`);
  });

  it('refuses a truncated zip while streaming it', async () => {
    const body = zipSync({
      'receipt_20240605120000000.json': strToU8(mta([receipt(1), receipt(2), receipt(3)])),
    });
    server.handle((_, res) =>
      sendFile(res, body.subarray(0, body.length - 30), {
        'mc-siem-token': 't9',
        'content-disposition': 'attachment; filename="receipt_1.json"',
      }),
    );
    const page = await client()
      .source('siem')
      .fetchPage({ token: null, since: start.toISOString() }, budget());
    const error = await failure(collect(page.records));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).excerpt?.startsWith('PK')).toBe(true);
  });

  it('yields records before the file has finished downloading', async () => {
    const many = Array.from({ length: 3000 }, (_, n) => receipt(n));
    const body = zipSync({ 'receipt_20240605120000000.json': strToU8(mta(many)) }, { level: 0 });
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.handle(async (_, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        'mc-siem-token': 't',
        'content-disposition': 'attachment; filename="receipt_1.json"',
      });
      res.write(Buffer.from(body.subarray(0, Math.floor(body.length / 2))));
      await released;
      res.end(Buffer.from(body.subarray(Math.floor(body.length / 2))));
    });
    const page = await client()
      .source('siem')
      .fetchPage({ token: null, since: start.toISOString() }, budget());
    const iterator = page.records[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(withParsedEvent(first.value).event).toEqual(receipt(0));
    release();
    let count = 1;
    while (!(await iterator.next()).done) count += 1;
    expect(count).toBe(3000);
  });

  it('probes with one call and does not download the file', async () => {
    siemServer([
      { name: 'receipt_1.json', body: zipSync({ 'r.json': strToU8(mta([receipt(1)])) }), token: 't1' },
    ]);
    await client().source('siem').probe(budget());
    expect(server.requests).toHaveLength(1);
  });
});

describe('siem on API 2.0', () => {
  const start = new Date(NOW - 2 * 86_400_000);
  const v2event = (n: number, type = 'receipt') => ({
    accountId: 'C1',
    type,
    subtype: null,
    timestamp: NOW - 3_600_000 + n,
    processingId: `p${n}`,
  });
  const ndjson = (events: unknown[]) => gzipSync(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`);

  /** Listing pages per type; files served under /files/<name>. */
  function batchServer(options: {
    pages: Record<string, { files: string[]; next: string; caughtUp: boolean }[]>;
    files: Record<string, Buffer>;
    expireFirst?: Record<string, number>;
  }) {
    const expired = { ...options.expireFirst };
    server.handle((req, res) => {
      if (req.path === '/oauth/token') {
        json(res, 200, { access_token: 'tok', token_type: 'Bearer', expires_in: 1799 });
      } else if (req.path === BATCH) {
        const type = req.query.get('type') ?? '';
        const token = req.query.get('nextPage');
        const pages = options.pages[type] ?? [];
        const index = token === null ? 0 : Number(token.split(':')[1]) + 1;
        const page = pages[Math.min(index, pages.length - 1)] ?? {
          files: [],
          next: `${type}:${index - 1}`,
          caughtUp: true,
        };
        const at = index < pages.length ? index : pages.length - 1;
        json(res, 200, {
          value: page.files.map((name) => ({
            url: `${server.url}/files/${name}?X-Amz-Signature=secret-sig-${Math.random()}`,
            size: 1,
            expiry: 'x',
          })),
          '@nextPage': `${type}:${at}`,
          isCaughtUp: page.caughtUp,
        });
      } else if (req.path.startsWith('/files/')) {
        const name = req.path.slice('/files/'.length);
        if ((expired[name] ?? 0) > 0) {
          expired[name] -= 1;
          res.writeHead(403, { 'content-type': 'application/xml' });
          res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
          return;
        }
        sendFile(res, options.files[name], {});
      } else {
        res.writeHead(404).end();
      }
    });
  }

  async function drain(types: string[], cursor?: Cursor) {
    const source = client({ credentials: v2Credentials, siemTypes: types }).source('siem');
    let current = cursor ?? source.seed(start, new Date(NOW));
    const records: SourceRecord[] = [];
    const caught: boolean[] = [];
    for (let i = 0; i < 20; i += 1) {
      const page = await source.fetchPage(current, budget());
      records.push(...(await collectParsed(page.records)));
      current = page.end().next;
      caught.push(page.end().caughtUp);
      if (page.end().caughtUp) break;
    }
    return { records, cursor: current, caught };
  }

  it('lists per type, downloads without credentials, and is caught up when every type is', async () => {
    batchServer({
      pages: {
        receipt: [
          { files: ['r1', 'r2'], next: 'receipt:0', caughtUp: false },
          { files: ['r3'], next: 'receipt:1', caughtUp: true },
        ],
        process: [{ files: [], next: 'process:0', caughtUp: true }],
      },
      files: {
        r1: ndjson([v2event(1), v2event(2)]),
        r2: ndjson([v2event(3)]),
        r3: ndjson([v2event(4), v2event(5, 'process')]),
      },
    });
    const { records, cursor, caught } = await drain(['receipt', 'process']);
    expect(caught).toEqual([false, false, true]);
    expect(records.map((r) => (r.event as { processingId: string }).processingId)).toEqual([
      'p1',
      'p2',
      'p3',
      'p4',
      'p5',
    ]);
    expect(records[4].logType).toBe('process');
    expect(records[0].time).toBe(new Date(NOW - 3_600_000 + 1).toISOString());
    expect(cursor).toEqual({
      since: start.toISOString(),
      pages: { receipt: 'receipt:1', process: 'process:0' },
      pending: ['receipt', 'process'],
      // Short hashes of the files read (host and path, no query), oldest first.
      seen: { receipt: [expect.any(String), expect.any(String), expect.any(String)], process: [] },
      unadvanced: [],
    });
    expect(
      (cursor as { seen: { receipt: string[] } }).seen.receipt.every((key) => /^[\w-]{12}$/.test(key)),
    ).toBe(true);
    const listings = server.requests.filter((r) => r.path === BATCH);
    expect(listings[0].query.get('type')).toBe('receipt');
    expect(listings[0].query.get('pageSize')).toBe('100');
    expect(listings[0].query.get('dateRangeStartsAt')).toBe(start.toISOString().slice(0, 10));
    expect(listings[0].query.get('dateRangeEndsAt')).toBe(new Date(NOW).toISOString().slice(0, 10));
    expect(listings[1].query.get('nextPage')).toBe('receipt:0');
    expect(listings[1].query.get('dateRangeStartsAt')).toBeNull();
    expect(listings[0].headers.authorization).toBe('Bearer tok');
    for (const download of server.requests.filter((r) => r.path.startsWith('/files/'))) {
      expect(download.headers.authorization).toBeUndefined();
      expect(Object.keys(download.headers).filter((h) => h.startsWith('x-mc'))).toEqual([]);
    }
  });

  it('keeps @nextPage when caught up and polls with it next time', async () => {
    batchServer({ pages: { receipt: [{ files: [], next: 'receipt:0', caughtUp: true }] }, files: {} });
    const first = await drain(['receipt']);
    expect(first.cursor).toMatchObject({ pages: { receipt: 'receipt:0' } });
    await drain(['receipt'], first.cursor);
    expect(
      server.requests
        .filter((r) => r.path === BATCH)
        .at(-1)
        ?.query.get('nextPage'),
    ).toBe('receipt:0');
  });

  it('lists the same page again when a file URL expired, and delivers each event once', async () => {
    batchServer({
      pages: { receipt: [{ files: ['r1', 'r2', 'r3'], next: 'receipt:0', caughtUp: true }] },
      files: { r1: ndjson([v2event(1)]), r2: ndjson([v2event(2)]), r3: ndjson([v2event(3)]) },
      expireFirst: { r2: 1 },
    });
    const { records } = await drain(['receipt']);
    expect(records.map((r) => (r.event as { processingId: string }).processingId)).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    const listings = server.requests.filter((r) => r.path === BATCH);
    expect(listings).toHaveLength(2);
    expect(listings[1].query.get('dateRangeStartsAt')).toBe(listings[0].query.get('dateRangeStartsAt'));
  });

  it('reads a file listed twice (on one page, on the next, or when polled again) once', async () => {
    batchServer({
      pages: {
        receipt: [
          { files: ['r1', 'r2', 'r1'], next: 'receipt:0', caughtUp: false },
          { files: ['r2', 'r3', 'r3'], next: 'receipt:1', caughtUp: true },
        ],
      },
      files: { r1: ndjson([v2event(1)]), r2: ndjson([v2event(2)]), r3: ndjson([v2event(3)]) },
    });
    const first = await drain(['receipt']);
    expect(first.records.map((r) => (r.event as { processingId: string }).processingId)).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    // Polled again, the caught-up listing repeats its last page: nothing new to read.
    const again = await drain(['receipt'], first.cursor);
    expect(again.records).toEqual([]);
    expect(server.requests.filter((r) => r.path.startsWith('/files/')).map((r) => r.path)).toEqual([
      '/files/r1',
      '/files/r2',
      '/files/r3',
    ]);
  });

  it.each([
    ['hands back the nextPage it was asked with', 'receipt:0', ['r2']],
    ['lists only files already read', 'receipt:1', ['r1']],
  ])('stops with PagingStalledError on a page not caught up that %s', async (_, next, files) => {
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      if (req.path !== BATCH) return sendFile(res, ndjson([v2event(Number(req.path.slice(-1)))]), {});
      const first = req.query.get('nextPage') === null;
      const names = first ? ['r1'] : files;
      return json(res, 200, {
        value: names.map((name) => ({ url: `${server.url}/files/${name}?s=${Math.random()}` })),
        '@nextPage': first ? 'receipt:0' : next,
        isCaughtUp: false,
      });
    });
    const error = await failure(drain(['receipt']));
    expect(error).toBeInstanceOf(PagingStalledError);
    expect(error.message).toMatch(/^Mimecast paging did not advance: /);
    expect(error.endpoint).toBe('GET /siem/v1/batch/events/cg');
    expect(server.requests.filter((r) => r.path === BATCH)).toHaveLength(2);
  });

  it('gives up with a TransientError when the file stays expired, never skipping it', async () => {
    batchServer({
      pages: { receipt: [{ files: ['r1', 'r2'], next: 'receipt:0', caughtUp: true }] },
      files: { r1: ndjson([v2event(1)]), r2: ndjson([v2event(2)]) },
      expireFirst: { r2: 100 },
    });
    const source = client({
      credentials: v2Credentials,
      siemTypes: ['receipt'],
      limits: { fileUrlRelistAttempts: 2 },
    }).source('siem');
    const page = await source.fetchPage(source.seed(start, new Date(NOW)), budget());
    const seen: SourceRecord[] = [];
    const error = await failure(
      (async () => {
        for await (const record of page.records) seen.push(record);
      })(),
    );
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.status).toBe(403);
    expect(error.endpoint).toBe('GET /files/r2');
    expect(error.message).not.toContain('secret-sig');
    expect(server.requests.filter((r) => r.path === BATCH)).toHaveLength(3);
  });

  it.each([
    ['bad gzip', Buffer.from('not gzip at all')],
    ['truncated gzip', ndjson([v2event(1), v2event(2)]).subarray(0, 30)],
    ['a broken NDJSON line', gzipSync('{"timestamp":1,"type":"receipt"}\n{"timestamp":\n')],
    ['an event without timestamp', gzipSync('{"type":"receipt"}\n')],
  ])('refuses %s as ProtocolError', async (_, body) => {
    batchServer({
      pages: { receipt: [{ files: ['f'], next: 'receipt:0', caughtUp: true }] },
      files: { f: body },
    });
    const error = await failure(drain(['receipt']));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.endpoint).toBe('GET /files/f');
  });

  it('refuses a file URL that is not https', async () => {
    server.handle((req, res) =>
      req.path === '/oauth/token'
        ? json(res, 200, { access_token: 'tok', expires_in: 1799 })
        : json(res, 200, {
            value: [{ url: 'http://bucket.example.com/f.gz?sig=1' }],
            '@nextPage': 'n',
            isCaughtUp: true,
          }),
    );
    const error = await failure(drain(['receipt']));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).not.toContain('sig=1');
  });

  it('streams a batch file: records arrive before it has finished downloading', async () => {
    const body = ndjson(Array.from({ length: 20000 }, (_, n) => v2event(n)));
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.handle(async (req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      if (req.path === BATCH)
        return json(res, 200, {
          value: [{ url: `${server.url}/files/big` }],
          '@nextPage': 'n',
          isCaughtUp: true,
        });
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      await released;
      res.end(body.subarray(Math.floor(body.length / 2)));
    });
    const source = client({ credentials: v2Credentials, siemTypes: ['receipt'] }).source('siem');
    const page = await source.fetchPage(source.seed(start, new Date(NOW)), budget());
    const iterator = page.records[Symbol.asyncIterator]();
    expect(withParsedEvent((await iterator.next()).value).event).toEqual(v2event(0));
    release();
    let count = 1;
    while (!(await iterator.next()).done) count += 1;
    expect(count).toBe(20000);
  });
});

describe('window endpoints', () => {
  const cases = [
    {
      stream: 'audit',
      path: '/api/audit/get-audit-events',
      start: 'startDateTime',
      end: 'endDateTime',
      key: null,
      time: 'eventTime',
      logType: 'authentication_logs',
    },
    {
      stream: 'ttp-url',
      path: '/api/ttp/url/get-logs',
      start: 'from',
      end: 'to',
      key: 'clickLogs',
      time: 'date',
      logType: 'url protect',
    },
    {
      stream: 'ttp-attachment',
      path: '/api/ttp/attachment/get-logs',
      start: 'from',
      end: 'to',
      key: 'attachmentLogs',
      time: 'date',
      logType: 'attachment protect',
    },
    {
      stream: 'ttp-impersonation',
      path: '/api/ttp/impersonation/get-logs',
      start: 'from',
      end: 'to',
      key: 'impersonationLogs',
      time: 'eventTime',
      logType: 'impersonation protect',
    },
    {
      stream: 'dlp',
      path: '/api/dlp/get-logs',
      start: 'from',
      end: 'to',
      key: 'dlpLogs',
      time: 'eventTime',
      logType: 'dlp',
    },
    {
      stream: 'held-release',
      path: '/api/gateway/get-held-release-logs',
      start: 'start',
      end: 'end',
      key: 'heldReleaseLogs',
      time: 'released',
      logType: 'held release',
    },
    {
      stream: 'archive-search',
      path: '/api/archive/get-archive-search-logs',
      start: 'start',
      end: 'end',
      key: 'logs',
      time: 'createTime',
      logType: 'archive search',
    },
  ] as const;

  it.each(cases)('$stream: field names, record path, time field, paging', async (spec) => {
    const record = (n: number) => ({
      id: `${spec.stream}-${n}`,
      category: 'authentication_logs',
      [spec.time]: `2024-06-05T1${n}:00:00+0000`,
    });
    const answer = (records: unknown[], next?: string) => ({
      meta: { status: 200, pagination: { pageSize: 500, ...(next ? { next } : {}) } },
      data: spec.key === null ? records : [{ [spec.key]: records }],
      fail: [],
    });
    server.handle((req, res) => {
      const body = JSON.parse(req.body);
      json(
        res,
        200,
        body.meta.pagination.pageToken ? answer([record(1)]) : answer([record(3), record(2)], 'page-2'),
      );
    });
    const now = new Date('2024-06-05T20:00:00Z');
    const source = client({ clock: { now: () => now.getTime() } }).source(spec.stream);
    const first = await source.fetchPage(source.seed(new Date('2024-06-05T00:00:00Z'), now), budget());
    const page1 = await collect(first.records);
    expect(first.end().caughtUp).toBe(false);
    const second = await source.fetchPage(first.end().next, budget());
    const page2 = await collect(second.records);
    expect([...page1, ...page2].map((r) => r.time)).toEqual([
      '2024-06-05T13:00:00.000Z',
      '2024-06-05T12:00:00.000Z',
      '2024-06-05T11:00:00.000Z',
    ]);
    expect(page1[0]).toEqual({
      id: eventId(spec.stream, record(3)),
      logType: spec.logType,
      time: '2024-06-05T13:00:00.000Z',
      event: record(3),
    });
    const [req1, req2] = server.requests.map((r) => JSON.parse(r.body));
    expect(server.requests[0].path).toBe(spec.path);
    expect(req1.meta.pagination).toEqual({ pageSize: 500 });
    expect(req1.data[0][spec.start]).toBe('2024-06-05T00:00:00+0000');
    expect(req1.data[0][spec.end]).toMatch(/^2024-06-05T\d{2}:\d{2}:\d{2}\+0000$/);
    expect(req2.meta.pagination).toEqual({ pageSize: 500, pageToken: 'page-2' });
    expect(req2.data).toEqual(req1.data);
  });

  describe('window ends resolved at fetch time', () => {
    const mc = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
    const fromMc = (text: string) => Date.parse(text.replace('+0000', 'Z'));
    const at = (text: string) => Date.parse(`2024-06-05T${text}:00Z`);

    /** An audit endpoint over `events`: every event whose time lies in the requested window, newest first. */
    function auditServer(events: { id: string; time: number }[]) {
      server.handle((req, res) => {
        const { startDateTime, endDateTime } = JSON.parse(req.body).data[0];
        const from = fromMc(startDateTime);
        const to = fromMc(endDateTime);
        const data = events
          .filter((e) => e.time >= from && e.time < to + 1000)
          .sort((a, b) => b.time - a.time)
          .map((e) => ({ id: e.id, category: 'authentication_logs', eventTime: mc(e.time) }));
        json(res, 200, { meta: { status: 200, pagination: { pageSize: 500 } }, data, fail: [] });
      });
    }

    /** One tick as the engine runs it: pages until caught up. */
    async function tick(source: ReturnType<ReturnType<typeof client>['source']>, cursor: Cursor) {
      const before = server.requests.length;
      const ids: string[] = [];
      const asked: Cursor[] = [];
      let current = cursor;
      for (let i = 0; i < 10; i += 1) {
        const page = await source.fetchPage(current, budget());
        asked.push(page.cursor ?? current);
        ids.push(...(await collect(page.records)).map((r) => (r.event as { id: string }).id));
        current = page.end().next;
        if (page.end().caughtUp) break;
      }
      const windows = server.requests
        .slice(before)
        .map((r) => JSON.parse(r.body).data[0])
        .map((d) => [d.startDateTime, d.endDateTime]);
      return { ids, cursor: current, asked, windows };
    }

    it('costs one call per idle tick, asks up to now − margin each time, and catches late events', async () => {
      const events = [{ id: 'e1', time: at('19:30') }];
      auditServer(events);
      let now = at('20:00');
      // The first pass alone (the late-data re-check has tests of its own).
      const source = client({ clock: { now: () => now }, lateDataMinutes: 0 }).source('audit');
      const first = await tick(source, source.seed(new Date(at('19:00')), new Date(now)));
      expect(first.ids).toEqual(['e1']);
      expect(first.windows).toEqual([[mc(at('19:00')), mc(at('19:55'))]]);
      expect(first.cursor).toMatchObject({ from: iso(at('19:30')), to: null, pageToken: null });

      let cursor = first.cursor;
      for (const clock of ['20:05', '20:10', '20:15']) {
        now = at(clock);
        const idle = await tick(source, cursor);
        expect(idle.ids).toEqual([]); // e1 comes back at the boundary and is dropped
        expect(idle.windows).toEqual([[mc(at('19:30')), mc(now - 300_000)]]);
        expect(idle.asked).toEqual([{ ...cursor, to: iso(now - 300_000) }]);
        cursor = idle.cursor;
      }

      // Indexed late: its time lies inside windows already asked, but after the newest delivered event.
      events.push({ id: 'e2', time: at('20:00') });
      now = at('20:20');
      const late = await tick(source, cursor);
      expect(late.ids).toEqual(['e2']);
      expect(late.windows).toHaveLength(1);
      expect(late.cursor).toMatchObject({ from: iso(at('20:00')), to: null, skipIds: [expect.any(String)] });

      // The resolved cursor of that page (what the engine stores with an in-page offset), fetched again
      // much later, asks exactly the same question and gets the same records; a frozen window that far
      // behind is not caught up, so the engine goes on to the fresh window at once.
      now = at('21:00');
      const before = server.requests.length;
      const again = await source.fetchPage(late.asked[0]!, budget());
      expect((await collect(again.records)).map((r) => (r.event as { id: string }).id)).toEqual(['e2']);
      expect(again.end().caughtUp).toBe(false);
      const body = JSON.parse(server.requests[before]!.body).data[0];
      expect([body.startDateTime, body.endDateTime]).toEqual(late.windows[0]);
    });

    it('asks its one second when the window would end before it starts (a first tick from now)', async () => {
      auditServer([]);
      const now = at('20:00');
      const source = client({ clock: { now: () => now } }).source('audit');
      const page = await source.fetchPage(source.seed(new Date(now), new Date(now)), budget());
      expect(await collect(page.records)).toEqual([]);
      expect(page.end()).toMatchObject({ caughtUp: true, next: { from: iso(now), to: null } });
      const asked = server.requests.map((r) => JSON.parse(r.body).data[0]);
      expect(asked).toEqual([{ startDateTime: mc(now), endDateTime: mc(now) }]);
    });
  });

  it('refuses an answer without the record array, and a record without its time', async () => {
    server.handle((_, res) =>
      json(res, 200, { meta: { status: 200 }, data: [{ somethingElse: [] }], fail: [] }),
    );
    const ttp = client().source('ttp-url');
    const error = await failure(ttp.fetchPage(ttp.seed(new Date(NOW - 3_600_000), new Date(NOW)), budget()));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.message).toContain('clickLogs');

    server.handle((_, res) =>
      json(res, 200, { meta: { status: 200 }, data: [{ id: 'x', eventTime: 'not a time' }], fail: [] }),
    );
    const audit = client().source('audit');
    const error2 = await failure(
      audit.fetchPage(audit.seed(new Date(NOW - 3_600_000), new Date(NOW)), budget()),
    );
    expect(error2).toBeInstanceOf(ProtocolError);
    expect(error2.message).toContain('eventTime');
  });

  it('archive-search falls back to get-search-logs on 404 and remembers it', async () => {
    server.handle((req, res) =>
      req.path === '/api/archive/get-search-logs'
        ? json(res, 200, { meta: { status: 200 }, data: [{ logs: [] }], fail: [] })
        : json(res, 404, {}),
    );
    const log = memoryLog();
    const source = client({ log }).source('archive-search');
    const cursor = source.seed(new Date(NOW - 3_600_000), new Date(NOW));
    await source.fetchPage(cursor, budget());
    await source.fetchPage(cursor, budget());
    expect(server.requests.map((r) => r.path)).toEqual([
      '/api/archive/get-archive-search-logs',
      '/api/archive/get-search-logs',
      '/api/archive/get-search-logs',
    ]);
  });

  it('archive-search reports a RequestError when neither path exists', async () => {
    server.handle((_, res) => json(res, 404, {}));
    const source = client().source('archive-search');
    const error = await failure(
      source.fetchPage(source.seed(new Date(NOW - 3_600_000), new Date(NOW)), budget()),
    );
    expect(error).toBeInstanceOf(RequestError);
    expect(error.endpoint).toBe('POST /api/archive/get-search-logs');
  });

  it('clamps audit to 60 days back with a warning', async () => {
    server.handle((_, res) => json(res, 200, { meta: { status: 200 }, data: [], fail: [] }));
    const log = memoryLog();
    const source = client({ log }).source('audit');
    const cursor = source.seed(new Date(NOW - 90 * 86_400_000), new Date(NOW));
    await source.fetchPage(cursor, budget());
    const sent = Date.parse(JSON.parse(server.requests[0].body).data[0].startDateTime.replace('+0000', 'Z'));
    expect(NOW - sent).toBeLessThan(60 * 86_400_000);
    expect(NOW - sent).toBeGreaterThan(59 * 86_400_000);
    expect(log.lines.some((l) => l.level === 'warn' && l.attributes?.stream === 'audit')).toBe(true);
  });

  it('rejects a corrupt cursor with a RequestError that says to reset the checkpoint', async () => {
    const error = await failure(client().source('dlp').fetchPage({ from: 'yesterday' }, budget()));
    expect(error).toBeInstanceOf(RequestError);
    expect(error.remedy).toMatch(/[Rr]eset/);
  });
});

describe('threat feeds', () => {
  const object = (n: number, type = 'indicator') => ({
    type,
    id: `${type}--${n}`,
    created: '2024-06-01T00:00:00.000Z',
    modified: `2024-06-05T10:00:0${n}.000Z`,
    pattern: `[file:hashes.'SHA-256' = '${n}']`,
  });
  const bundle = (objects: unknown[]) => ({ type: 'bundle', id: 'bundle--1', spec_version: '2.0', objects });

  it.each([
    ['malware-customer', 'malware_customer'],
    ['malware-grid', 'malware_grid'],
  ] as const)(
    '%s follows x-mc-threat-feed-next-token, then starts the next window at the newest object',
    async (stream, feedType) => {
      server.handle((req, res) => {
        const item = JSON.parse(req.body).data[0];
        if (item.token === undefined) {
          json(res, 200, bundle([object(1), object(2, 'malware')]), {
            'x-mc-threat-feed-next-token': 'feed-2',
          });
        } else {
          json(res, 200, bundle([object(3)]));
        }
      });
      const now = new Date('2024-06-05T12:00:00Z');
      const source = client({ clock: { now: () => now.getTime() } }).source(stream);
      const first = await source.fetchPage(source.seed(new Date('2024-06-05T00:00:00Z'), now), budget());
      expect((await collect(first.records)).map((r) => [r.logType, r.time])).toEqual([
        ['indicator', '2024-06-05T10:00:01.000Z'],
        ['malware', '2024-06-05T10:00:02.000Z'],
      ]);
      const second = await source.fetchPage(first.end().next, budget());
      expect(await collect(second.records)).toHaveLength(1);
      expect(second.end().next).toMatchObject({ from: '2024-06-05T10:00:03.000Z', pageToken: null });
      const [a, b] = server.requests.map((r) => JSON.parse(r.body).data[0]);
      expect(a).toEqual({
        feedType,
        fileType: 'stix',
        compress: false,
        start: '2024-06-05T00:00:00+0000',
        end: expect.stringMatching(/\+0000$/),
      });
      expect(b).toEqual({ feedType, fileType: 'stix', compress: false, token: 'feed-2' });
    },
  );

  it('reads fail[] err_threat_intel_feed_no_result_found as "nothing more", and only that code', async () => {
    const noResult = {
      code: 'err_threat_intel_feed_no_result_found',
      message: 'No results',
      retryable: false,
    };
    const other = { code: 'err_validation_invalid_date', message: 'Bad date', retryable: false };
    let errors = [noResult];
    server.handle((_, res) => json(res, 200, { meta: { status: 200 }, data: [], fail: [{ errors }] }));
    const now = new Date('2024-06-05T12:00:00Z');
    const source = client({ clock: { now: () => now.getTime() } }).source('malware-customer');
    const cursor = source.seed(new Date('2024-06-05T00:00:00Z'), now);
    const page = await source.fetchPage(cursor, budget());
    expect(await collect(page.records)).toEqual([]);
    expect(page.end().next).toMatchObject({ from: '2024-06-05T00:00:00.000Z', to: null, pageToken: null });
    errors = [noResult, other];
    const error = await failure(source.fetchPage(cursor, budget()));
    expect(error).toBeInstanceOf(RequestError);
    expect(error.codes).toEqual(['err_threat_intel_feed_no_result_found', 'err_validation_invalid_date']);
  });

  it('refuses a body that is not a bundle', async () => {
    server.handle((_, res) => json(res, 200, { objects: 'nope' }));
    const source = client().source('malware-grid');
    const error = await failure(
      source.fetchPage(source.seed(new Date(NOW - 3_600_000), new Date(NOW)), budget()),
    );
    expect(error).toBeInstanceOf(ProtocolError);
  });
});
