import { gunzipSync } from 'node:zlib';
import { type RunningSimulator, startSimulator } from './index';
import { downloadBatch, header, http, json, listBatches, testClock, v2Caller } from './sim-client';

describe('SIEM batch files (API 2.0)', () => {
  const clock = testClock();
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 21,
      now: clock.now,
      events: { siem: 300 },
      siem: { v2EventsPerFile: 15, batchUrlTtlMs: 60_000 },
    });
  });
  afterAll(() => sim.stop());

  test('listing every page and downloading every file yields exactly the ground truth, in order', async () => {
    const caller = await v2Caller(sim);
    const listing = await listBatches(caller.get, { pageSize: 7 });
    expect(listing.pages).toBe(Math.ceil(listing.files.length / 7));
    const records: Record<string, unknown>[] = [];
    for (const file of listing.files) records.push(...(await downloadBatch(file)));
    expect(records).toEqual(sim.groundTruth('siem', 2));
    expect(records.length).toBe(300);
  });

  test('listing entries carry url, size and expiry; files are gzip NDJSON fetched without Bearer', async () => {
    const caller = await v2Caller(sim);
    const page = json(await caller.get('/siem/v1/batch/events/cg?pageSize=3'));
    expect(Object.keys(page).sort()).toEqual(['@nextPage', 'isCaughtUp', 'value']);
    expect(page.isCaughtUp).toBe(false);
    const entry = page.value[0];
    expect(entry.url).toMatch(
      /\/[0-9]+-[0-9a-f]{16}\.json\.gz\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Signature=[0-9a-f]{64}$/,
    );
    expect(new Date(entry.expiry).getTime()).toBe(Math.floor(clock.now() / 1000) * 1000 + 60_000);
    sim.clearRequests();
    const file = await http(entry.url);
    expect(file.status).toBe(200);
    expect(header(file, 'content-encoding')).toBeUndefined();
    expect(file.body.length).toBe(entry.size);
    const lines = gunzipSync(file.body).toString('utf8').trimEnd().split('\n');
    const record = JSON.parse(lines[0]);
    expect(record).toMatchObject({
      accountId: expect.any(String),
      timestamp: expect.any(Number),
      type: expect.any(String),
    });
    expect(record).toHaveProperty('subtype');
    const [download] = sim.requests();
    expect(download.headers.authorization).toBeUndefined();
    expect(download.api).toBeUndefined();
  });

  test('v2 records use string-typed numbers and booleans', async () => {
    const delivery = (sim.groundTruth('siem', 2) as Record<string, unknown>[]).find(
      (r) => r.type === 'delivery',
    );
    expect(delivery).toMatchObject({
      delivered: expect.stringMatching(/^(true|false)$/),
      emailSize: expect.stringMatching(/^\d+$/),
    });
  });

  test('@nextPage is present when caught up; later polls with it get only newer files', async () => {
    const caller = await v2Caller(sim);
    const listing = await listBatches(caller.get, { pageSize: 100 });
    const again = json(
      await caller.get(`/siem/v1/batch/events/cg?nextPage=${encodeURIComponent(listing.nextPage)}`),
    );
    expect(again).toEqual({ value: [], '@nextPage': expect.any(String), isCaughtUp: true });
    const published = sim.publish('siem', 12, { api: 2, lateBySeconds: 7200 });
    const more = await listBatches(caller.get, { nextPage: again['@nextPage'] });
    const records: unknown[] = [];
    for (const file of more.files) records.push(...(await downloadBatch(file)));
    expect(new Set(records.map((r) => JSON.stringify(r)))).toEqual(
      new Set(published.map((r) => JSON.stringify(r))),
    );
  });

  test('identical events published at once arrive together in one file', async () => {
    const caller = await v2Caller(sim);
    const listing = await listBatches(caller.get, { pageSize: 100 });
    const published = sim.publish('siem', 4, { api: 2, identical: true });
    expect(new Set(published.map((r) => JSON.stringify(r))).size).toBe(1);
    const more = await listBatches(caller.get, { nextPage: listing.nextPage });
    expect(more.files).toHaveLength(1);
    expect(await downloadBatch(more.files[0]!)).toEqual(published);
  });

  test('a type filter lists only files of that type, and the filter survives in @nextPage', async () => {
    const caller = await v2Caller(sim);
    const listing = await listBatches(caller.get, { pageSize: 2, type: 'receipt' });
    const records: Record<string, unknown>[] = [];
    for (const file of listing.files) records.push(...(await downloadBatch(file)));
    const expected = (sim.groundTruth('siem', 2) as Record<string, unknown>[]).filter(
      (r) => r.type === 'receipt',
    );
    expect(records).toEqual(expected);
    const multi = await caller.get('/siem/v1/batch/events/cg?type=receipt%2Cprocess');
    expect(multi.status).toBe(200);
    const unknown = await caller.get('/siem/v1/batch/events/cg?type=nonsense');
    expect(unknown.status).toBe(400);
    expect(json(unknown).error.code).toBe('Request Validation Failed');
  });

  test('date range filters by the day a file was produced', async () => {
    const caller = await v2Caller(sim);
    const today = new Date(clock.now()).toISOString().slice(0, 10);
    const listing = json(
      await caller.get(
        `/siem/v1/batch/events/cg?pageSize=100&dateRangeStartsAt=${today}&dateRangeEndsAt=${today}`,
      ),
    );
    const all = await listBatches(caller.get, { pageSize: 100 });
    expect(listing.value.length).toBeGreaterThan(0);
    expect(listing.value.length).toBeLessThan(all.files.length);
    const bad = await caller.get('/siem/v1/batch/events/cg?dateRangeStartsAt=2025-13-01');
    expect(bad.status).toBe(400);
  });

  test('a batch URL fetched with an Authorization header is refused like S3 does', async () => {
    const caller = await v2Caller(sim);
    const [entry] = json(await caller.get('/siem/v1/batch/events/cg?pageSize=1')).value;
    const result = await http(entry.url, { headers: { authorization: `Bearer ${caller.token}` } });
    expect(result.status).toBe(400);
    expect(result.body.toString()).toContain('<Code>InvalidArgument</Code>');
    const recorded = sim.requests().filter((r) => r.path.endsWith('.json.gz'));
    expect(recorded[recorded.length - 1].headers.authorization).toBe(`Bearer ${caller.token}`);
  });

  test('batch URLs expire (403), and tampered or unknown URLs are refused', async () => {
    const caller = await v2Caller(sim);
    const [entry] = json(await caller.get('/siem/v1/batch/events/cg?pageSize=1')).value;
    const tampered = entry.url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=999999');
    expect((await http(tampered)).status).toBe(403);
    const unknown = entry.url.replace(/\/(\d+)-([0-9a-f]{16})\.json\.gz/, '/$1-0000000000000000.json.gz');
    expect((await http(unknown)).status).toBe(404);
    clock.advance(60_000);
    const expired = await http(entry.url);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('<Message>Request has expired</Message>');
  });

  test('streaming endpoint: inline events of the last 24 hours, paged with @nextPage', async () => {
    const caller = await v2Caller(sim);
    const start = new Date(clock.now() - 23 * 3_600_000).toISOString();
    const events: Record<string, unknown>[] = [];
    let query = `pageSize=40&dateRangeStartsAt=${start}`;
    for (let page = 0; page < 100; page++) {
      const body = json(await caller.get(`/siem/v1/events/cg?${query}`));
      events.push(...body.value);
      if (body.isCaughtUp) break;
      query = `nextPage=${encodeURIComponent(body['@nextPage'])}`;
    }
    const from = Date.parse(start);
    const expected = (sim.groundTruth('siem', 2) as Record<string, unknown>[])
      .filter((r) => (r.timestamp as number) >= from)
      .sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
    expect(new Set(events.map((e) => JSON.stringify(e)))).toEqual(
      new Set(expected.map((e) => JSON.stringify(e))),
    );
    const times = events.map((e) => e.timestamp as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const old = await caller.get(
      `/siem/v1/events/cg?dateRangeStartsAt=${new Date(clock.now() - 25 * 3_600_000).toISOString()}`,
    );
    expect(old.status).toBe(400);
    expect(json(old).error.message).toContain('24-hour');
  });
});

test('batch variants: multi-type rejected, dates required, Authorization accepted', async () => {
  const sim = await startSimulator({
    events: { siem: 40 },
    variants: {
      v2BatchMultiType: 'reject',
      v2BatchDatesRequired: 'first-call',
      batchUrlWithAuthorization: 'accept',
    },
  });
  try {
    const caller = await v2Caller(sim);
    expect((await caller.get('/siem/v1/batch/events/cg?type=receipt,process')).status).toBe(400);
    expect((await caller.get('/siem/v1/batch/events/cg?type=receipt')).status).toBe(400);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const page = await caller.get(
      `/siem/v1/batch/events/cg?dateRangeStartsAt=${yesterday}&dateRangeEndsAt=${today}`,
    );
    expect(page.status).toBe(200);
    const [entry] = json(page).value;
    expect((await http(entry.url, { headers: { authorization: `Bearer ${caller.token}` } })).status).toBe(
      200,
    );
    const next = json(page)['@nextPage'];
    expect((await caller.get(`/siem/v1/batch/events/cg?nextPage=${encodeURIComponent(next)}`)).status).toBe(
      200,
    );
  } finally {
    await sim.stop();
  }
});

test('streaming key-name variant renames type/subtype', async () => {
  const sim = await startSimulator({
    events: { siem: 5 },
    variants: { v2StreamingKeys: 'eventType-subType' },
  });
  try {
    const caller = await v2Caller(sim);
    const body = json(await caller.get('/siem/v1/events/cg'));
    expect(body.value.length).toBe(5);
    expect(body.value[0]).toHaveProperty('eventType');
    expect(body.value[0]).toHaveProperty('subType');
    expect(body.value[0]).not.toHaveProperty('type');
  } finally {
    await sim.stop();
  }
});
