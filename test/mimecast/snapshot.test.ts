/**
 * Awareness Training snapshot streams through the real client: against the simulator over loopback HTTP
 * (whole snapshots, the interval, ids of unchanged rows, resuming inside a page, the campaign walk), and
 * against a scripted loopback server for the request shapes and the answers the simulator never gives.
 */
import { Agent } from 'undici';
import { eventId } from '../../lambda/core/envelope';
import type { Cursor, Page, SourceRecord } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';
import { ConfigError, PermissionError, ProtocolError } from '../../lambda/errors';
import { createMimecastClient, type MimecastClientOptions } from '../../lambda/mimecast';
import { type RunningSimulator, startSimulator } from '../simulator';
import { budget, json, startServer, type TestServer, v2Credentials } from './support/server';

const HOUR = 3_600_000;
const SNAPSHOT_STREAMS = [
  'awareness-performance',
  'awareness-safescore',
  'awareness-user-data',
  'awareness-watchlist',
] as const satisfies readonly StreamId[];

async function records(page: Page): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const record of page.records) out.push(record);
  return out;
}

describe('against the simulator', () => {
  let sim: RunningSimulator;
  let dispatcher: Agent;
  const clock = { offset: 0, now: () => Date.now() + clock.offset };

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 21,
      now: () => clock.now(),
      events: {
        'awareness-performance': 23,
        'awareness-safescore': 17,
        'awareness-user-data': 31,
        'awareness-watchlist': 9,
      },
      awareness: { campaigns: 4 },
    });
    dispatcher = new Agent({ keepAliveTimeout: 1000 });
  });
  afterAll(async () => {
    await dispatcher.close();
    await sim.stop();
  });
  beforeEach(() => {
    clock.offset = 0;
    sim.clearRequests();
  });

  const client = (overrides: Partial<MimecastClientOptions> = {}) =>
    createMimecastClient({
      baseUrl: sim.url,
      credentials: sim.credentials.v2,
      dispatcher,
      clock,
      pageSizes: { json: 5 },
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
      ...overrides,
    });
  const truth = (stream: StreamId) => sim.groundTruth(stream, 2).map((row) => eventId(stream, row));
  const calls = () => sim.requests().filter((r) => r.path !== '/oauth/token').length;

  /** Pages (bounded) until caught up: the records, the cursor left, and how many pages it took. */
  async function snapshot(source: ReturnType<ReturnType<typeof client>['source']>, from: Cursor) {
    let cursor = from;
    const got: SourceRecord[] = [];
    for (let pages = 1; pages <= 100; pages += 1) {
      const page = await source.fetchPage(cursor, budget());
      got.push(...(await records(page)));
      const end = page.end();
      cursor = end.next;
      if (end.caughtUp) return { records: got, cursor, pages };
    }
    throw new Error('snapshot not finished in 100 pages');
  }

  it.each(SNAPSHOT_STREAMS)(
    '%s: one whole snapshot, then nothing and no call until the next is due, then every row again',
    async (stream) => {
      const source = client().source(stream);
      const seeded = source.seed(new Date(clock.now() - 5 * 24 * HOUR), new Date(clock.now()));
      const startedAt = clock.now();
      const first = await snapshot(source, seeded);
      const firstIds = first.records.map((r) => eventId(stream, r.event));
      expect([...firstIds].sort()).toEqual([...truth(stream)].sort());
      // Every row carries the snapshot's time: when the snapshot started, not the collection start.
      const times = new Set(first.records.map((r) => r.time));
      expect(times.size).toBe(1);
      expect(Date.parse([...times][0]!)).toBeGreaterThanOrEqual(startedAt);
      expect(Date.parse([...times][0]!)).toBeLessThanOrEqual(clock.now());
      expect(first.cursor).toEqual({
        due: new Date(Date.parse([...times][0]!) + 24 * HOUR).toISOString(),
        snapshot: null,
      });

      // Between snapshots: caught up, nothing, no call — even with new rows waiting.
      const added = sim.publish(stream, 2).map((row) => eventId(stream, row));
      sim.clearRequests();
      clock.offset = 23 * HOUR;
      const idle = await source.fetchPage(first.cursor, budget());
      expect(await records(idle)).toEqual([]);
      expect(idle.end()).toEqual({ next: first.cursor, caughtUp: true });
      expect(calls()).toBe(0);

      // Due: the next snapshot repeats every unchanged row's id and adds the new rows, at its own time.
      clock.offset = 24 * HOUR + 60_000;
      const second = await snapshot(source, first.cursor);
      const secondIds = second.records.map((r) => eventId(stream, r.event));
      expect([...secondIds].sort()).toEqual([...firstIds, ...added].sort());
      expect(new Set(second.records.map((r) => r.time)).size).toBe(1);
      expect(Date.parse(second.records[0]!.time)).toBeGreaterThanOrEqual(
        Date.parse(first.records[0]!.time) + 24 * HOUR,
      );
      // One call a page; user data also lists the campaigns each time it picks the next one (4 campaigns).
      expect(calls()).toBe(second.pages + (stream === 'awareness-user-data' ? 4 : 0));
    },
  );

  it('user data walks the campaigns in id order, naming each row’s campaign', async () => {
    const source = client().source('awareness-user-data');
    const done = await snapshot(source, source.seed(new Date(clock.now()), new Date(clock.now())));
    const campaignIds = done.records.map((r) => (r.event as { campaignId: string }).campaignId);
    // Grouped by campaign, campaigns ascending by id.
    const order = campaignIds.filter((id, i) => i === 0 || campaignIds[i - 1] !== id);
    expect(order).toEqual([...new Set(campaignIds)].sort());
    expect(order).toHaveLength(4);
    for (const record of done.records) {
      expect(record).toMatchObject({
        logType: 'phishing user data',
        event: { campaignName: expect.any(String) },
      });
    }
    // One campaign listing per campaign chosen, plus the one that found no campaign left.
    const listings = sim.requests().filter((r) => r.path.endsWith('/get-campaign'));
    expect(listings).toHaveLength(5);
  });

  it('a page asked again inside a snapshot gives the same rows with the same time', async () => {
    const source = client().source('awareness-performance');
    const seeded = source.seed(new Date(clock.now()), new Date(clock.now()));
    const first = await source.fetchPage(seeded, budget());
    const firstRows = await records(first);
    const second = await source.fetchPage(first.end().next, budget());
    const secondRows = await records(second);
    // The engine stores `Page.cursor` (the resolved question) with an offset; a later tick re-asks it.
    clock.offset = 2 * HOUR;
    const again = await records(await source.fetchPage(second.cursor!, budget()));
    expect(again).toEqual(secondRows);
    expect(first.cursor).toMatchObject({ snapshot: { at: firstRows[0]!.time, pageToken: null } });
    // The open "due" cursor is never what the engine stores with an offset.
    expect(first.cursor).not.toEqual(seeded);
  });

  it('an empty snapshot is one call, caught up, due again an interval later (the interval is a setting)', async () => {
    const quiet = await startSimulator({ seed: 3, events: { 'awareness-watchlist': 0 } });
    try {
      const empty = createMimecastClient({
        baseUrl: quiet.url,
        credentials: quiet.credentials.v2,
        dispatcher,
        clock,
        snapshotIntervalHours: 6,
      }).source('awareness-watchlist');
      const now = clock.now();
      const page = await empty.fetchPage(empty.seed(new Date(now), new Date(now)), budget());
      expect(await records(page)).toEqual([]);
      const at = Date.parse((page.cursor as { snapshot: { at: string } }).snapshot.at);
      expect(page.end()).toEqual({
        next: { due: new Date(at + 6 * HOUR).toISOString(), snapshot: null },
        caughtUp: true,
      });
      expect(quiet.requests().filter((r) => r.path.startsWith('/api/'))).toHaveLength(1);
    } finally {
      await quiet.stop();
    }
  });

  it('a stored cursor that is not a snapshot cursor is a request error naming the stream', async () => {
    const source = client().source('awareness-safescore');
    await expect(source.fetchPage({ from: 'x' }, budget())).rejects.toThrow(
      /stored cursor of stream awareness-safescore is not a valid snapshot cursor/,
    );
  });

  it('API 1.0 credentials: the client refuses the stream by name', () => {
    const v1 = createMimecastClient({ baseUrl: sim.url, credentials: sim.credentials.v1, dispatcher });
    for (const stream of [...SNAPSHOT_STREAMS, 'siem-ci'] as const) {
      expect(() => v1.source(stream)).toThrow(ConfigError);
      expect(() => v1.source(stream)).toThrow(new RegExp(`"${stream}" is not served by API 1\\.0`));
    }
  });
});

describe('request shapes and odd answers (scripted server)', () => {
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
  const client = () =>
    createMimecastClient({
      baseUrl: server.url,
      credentials: v2Credentials,
      dispatcher,
      pageSizes: { json: 7 },
      retry: { maxAttempts: 1 },
    });
  const seeded = { due: new Date(Date.now() - 1000).toISOString(), snapshot: null };

  it('performance details: POST with pageSize, includeUserDetails, then the page token', async () => {
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      const body = JSON.parse(req.body);
      const first = body.meta.pagination.pageToken === undefined;
      return json(res, 200, {
        meta: { status: 200, pagination: first ? { next: 'p2' } : {} },
        data: [{ email: first ? 'a@x.example' : 'b@x.example' }],
        fail: [],
      });
    });
    const source = client().source('awareness-performance');
    const page = await source.fetchPage(seeded, budget());
    await records(page);
    const second = await source.fetchPage(page.end().next, budget());
    expect((await records(second)).map((r) => r.event)).toEqual([{ email: 'b@x.example' }]);
    expect(second.end().caughtUp).toBe(true);
    const asked = server.requests.filter((r) => r.path !== '/oauth/token');
    expect(asked.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      [
        'POST',
        '/api/awareness-training/company/get-performance-details',
        { meta: { pagination: { pageSize: 7 } }, data: [{ includeUserDetails: true }] },
      ],
      [
        'POST',
        '/api/awareness-training/company/get-performance-details',
        { meta: { pagination: { pageSize: 7, pageToken: 'p2' } }, data: [{ includeUserDetails: true }] },
      ],
    ]);
    expect(asked[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('user data: campaigns listed, then get-user-data with the campaign id; items get campaignId and campaignName', async () => {
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      if (req.path.endsWith('/get-campaign')) {
        return json(res, 200, {
          meta: { status: 200 },
          data: [
            { id: 'c2', name: 'Two' },
            { id: 'c1', name: 'One' },
          ],
          fail: [],
        });
      }
      const id = JSON.parse(req.body).data[0].id;
      return json(res, 200, {
        meta: { status: 200, pagination: {} },
        data: [{ items: [{ email: `${id}@x.example` }] }],
        fail: [],
      });
    });
    const source = client().source('awareness-user-data');
    const page = await source.fetchPage(seeded, budget());
    expect((await records(page)).map((r) => r.event)).toEqual([
      { email: 'c1@x.example', campaignId: 'c1', campaignName: 'One' },
    ]);
    expect(page.cursor).toMatchObject({ snapshot: { campaign: { id: 'c1', name: 'One' }, pageToken: null } });
    expect(page.end().next).toMatchObject({ snapshot: { campaign: null, after: 'c1' } });
    const userData = server.requests.find((r) => r.path.endsWith('/get-user-data'))!;
    expect(JSON.parse(userData.body)).toEqual({
      meta: { pagination: { pageSize: 7 } },
      data: [{ id: 'c1' }],
    });
  });

  it('a page token handed back unchanged is a protocol error, not an endless walk', async () => {
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      return json(res, 200, {
        meta: { status: 200, pagination: { next: 'same' } },
        data: [{ n: 1 }],
        fail: [],
      });
    });
    const source = client().source('awareness-watchlist');
    const page = await source.fetchPage(seeded, budget());
    await records(page);
    const error = await source.fetchPage(page.end().next, budget()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).message).toMatch(
      /page token did not advance \(stream awareness-watchlist, POST \/api\/awareness-training\/company\/get-watchlist-details/,
    );
  });

  it('a campaign without an id, or user data without items, is a protocol error naming the endpoint', async () => {
    let campaigns: unknown[] = [{ name: 'no id' }];
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      if (req.path.endsWith('/get-campaign'))
        return json(res, 200, { meta: { status: 200 }, data: campaigns, fail: [] });
      return json(res, 200, { meta: { status: 200 }, data: [{ users: [] }], fail: [] });
    });
    const source = client().source('awareness-user-data');
    await expect(source.fetchPage(seeded, budget())).rejects.toThrow(
      /A campaign without an id .*get-campaign/,
    );
    campaigns = [{ id: 7, name: 'numeric id' }];
    await expect(source.fetchPage(seeded, budget())).rejects.toThrow(
      /Answer without data\[\]\.items .*get-user-data/,
    );
  });

  it('403 app_forbidden is a permission error naming the stream and the Awareness Training permission', async () => {
    server.handle((req, res) => {
      if (req.path === '/oauth/token') return json(res, 200, { access_token: 'tok', expires_in: 1799 });
      return json(res, 403, {
        fail: [{ code: 'app_forbidden', message: 'Forbidden to perform the requested operation' }],
      });
    });
    const error = await client()
      .source('awareness-safescore')
      .fetchPage(seeded, budget())
      .catch((e: unknown) => e);
    expect(String((error as Error).message)).toMatch(/awareness-safescore/);
    expect(error).toBeInstanceOf(PermissionError);
    expect(error).toMatchObject({ requiredPermission: 'Awareness Training | Dashboard | Read' });
  });
});
