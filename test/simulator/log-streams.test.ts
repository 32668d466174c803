import { canonicalJson } from '../../lambda/core/envelope';
import { formatMimecastDate, parseRequestDate } from './dates';
import { type RunningSimulator, startSimulator } from './index';
import { LOG_TIME_FIELD, type LogStreamId } from './log-records';
import { callerFor, json, testClock, v1Caller, v2Caller, walkLogs } from './sim-client';

const ENDPOINTS: Record<LogStreamId, { path: string; listKey?: string; from: string; to: string }> = {
  audit: { path: '/api/audit/get-audit-events', from: 'startDateTime', to: 'endDateTime' },
  'ttp-url': { path: '/api/ttp/url/get-logs', listKey: 'clickLogs', from: 'from', to: 'to' },
  'ttp-attachment': {
    path: '/api/ttp/attachment/get-logs',
    listKey: 'attachmentLogs',
    from: 'from',
    to: 'to',
  },
  'ttp-impersonation': {
    path: '/api/ttp/impersonation/get-logs',
    listKey: 'impersonationLogs',
    from: 'from',
    to: 'to',
  },
  dlp: { path: '/api/dlp/get-logs', listKey: 'dlpLogs', from: 'from', to: 'to' },
  'held-release': {
    path: '/api/gateway/get-held-release-logs',
    listKey: 'heldReleaseLogs',
    from: 'start',
    to: 'end',
  },
  'archive-search': {
    path: '/api/archive/get-archive-search-logs',
    listKey: 'logs',
    from: 'start',
    to: 'end',
  },
};
const STREAMS = Object.keys(ENDPOINTS) as LogStreamId[];

const sorted = (records: unknown[]) => records.map((r) => canonicalJson(r)).sort();
const timeOf = (stream: LogStreamId, record: Record<string, unknown>) =>
  parseRequestDate(String(record[LOG_TIME_FIELD[stream]])) as number;

const clock = testClock();
const windowStart = formatMimecastDate(clock.now() - 2 * 86_400_000);
const windowEnd = formatMimecastDate(clock.now());

function windowItem(stream: LogStreamId, from = windowStart, to = windowEnd): Record<string, unknown> {
  const spec = ENDPOINTS[stream];
  return { [spec.from]: from, [spec.to]: to };
}

describe('paged log endpoints: full walks match ground truth', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({
      seed: 11,
      now: clock.now,
      events: {
        audit: 61,
        'ttp-url': 40,
        'ttp-attachment': 33,
        'ttp-impersonation': 29,
        dlp: 25,
        'held-release': 27,
        'archive-search': 23,
      },
    });
  });
  afterAll(() => sim.stop());

  describe.each([1, 2] as const)('API %i', (api) => {
    test.each(STREAMS)('%s: walk from the first page to the end', async (stream) => {
      const spec = ENDPOINTS[stream];
      const caller = await callerFor(sim, api, clock.now);
      // v1 in ELASTIC style (pageSize as a string, data[] not re-sent), v2 in XSOAR style.
      const walk = await walkLogs(caller, spec.path, windowItem(stream), spec.listKey, {
        pageSize: api === 1 ? '7' : 7,
        resendData: api === 2,
      });
      const truth = sim.groundTruth(stream, api);
      expect(truth.length).toBeGreaterThan(20);
      expect(walk.records).toHaveLength(truth.length);
      expect(sorted(walk.records)).toEqual(sorted(truth));
      expect(walk.pages).toBe(Math.ceil(truth.length / 7));
      const times = walk.records.map((r) => timeOf(stream, r));
      // Newest first unless asked otherwise.
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });
  });

  test('oldestFirst returns ascending times', async () => {
    const caller = v1Caller(sim, clock.now);
    const walk = await walkLogs(
      caller,
      ENDPOINTS['ttp-url'].path,
      { ...windowItem('ttp-url'), oldestFirst: true },
      'clickLogs',
      {
        pageSize: 9,
      },
    );
    const times = walk.records.map((r) => timeOf('ttp-url', r));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(walk.records).toHaveLength(40);
  });

  test('the first page carries meta.pagination and fail[]', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.dlp.path, {
      meta: { pagination: { pageSize: 10 } },
      data: [windowItem('dlp')],
    });
    const body = json(result);
    expect(result.headers['content-type']).toBe('application/json');
    expect(body.fail).toEqual([]);
    expect(body.meta).toEqual({
      status: 200,
      pagination: { pageSize: 10, totalCount: 25, next: expect.any(String) },
    });
    expect(body.data).toHaveLength(1);
    expect(body.data[0].dlpLogs).toHaveLength(10);
  });

  test('impersonation pages carry resultCount', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS['ttp-impersonation'].path, {
      data: [windowItem('ttp-impersonation')],
    });
    expect(json(result).data[0].resultCount).toBe(29);
  });

  test('windows are inclusive at both ends', async () => {
    const truth = sim.groundTruth('audit', 1) as Record<string, unknown>[];
    const target = truth[Math.floor(truth.length / 2)];
    const at = String(target.eventTime);
    const walk = await walkLogs(
      v1Caller(sim, clock.now),
      ENDPOINTS.audit.path,
      windowItem('audit', at, at),
      undefined,
      {
        pageSize: 50,
      },
    );
    const expected = truth.filter((r) => r.eventTime === at);
    expect(sorted(walk.records)).toEqual(sorted(expected));
    expect(walk.records.length).toBeGreaterThan(0);
  });

  test.each([
    ['+0000', (ms: number) => formatMimecastDate(ms)],
    ['Z', (ms: number) => new Date(ms).toISOString().replace('.000', '')],
    ['+00:00', (ms: number) => new Date(ms).toISOString().replace('.000Z', '+00:00')],
    ['milliseconds Z', (ms: number) => new Date(ms).toISOString()],
    ['-0400', (ms: number) => formatMimecastDate(ms, -240)],
  ])('request dates in %s form select the same records', async (_form, format) => {
    const from = clock.now() - 12 * 3_600_000;
    const to = clock.now() - 3_600_000;
    const caller = v1Caller(sim, clock.now);
    const walk = await walkLogs(
      caller,
      ENDPOINTS.audit.path,
      windowItem('audit', format(from), format(to)),
      undefined,
      {
        pageSize: 100,
      },
    );
    const expected = (sim.groundTruth('audit', 1) as Record<string, unknown>[]).filter((r) => {
      const t = timeOf('audit', r);
      return t >= from && t <= to;
    });
    expect(sorted(walk.records)).toEqual(sorted(expected));
  });

  test('audit without startDateTime gets fail[] err_validation_null inside HTTP 200', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.audit.path, {
      data: [{ endDateTime: windowEnd }],
    });
    expect(result.status).toBe(200);
    const body = json(result);
    expect(body.data).toEqual([]);
    expect(body.fail[0].errors[0]).toMatchObject({
      code: 'err_validation_null',
      field: 'startDateTime',
      retryable: false,
    });
    expect(body.fail[0].key).toEqual({ endDateTime: windowEnd });
  });

  test('a malformed date gets a validation failure', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.dlp.path, {
      data: [{ from: 'yesterday', to: windowEnd }],
    });
    expect(json(result).fail[0].errors[0]).toMatchObject({
      code: 'err_validation_invalid_date',
      field: 'from',
    });
  });

  test('a forged page token is refused', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.dlp.path, {
      meta: { pagination: { pageToken: 'eNqrVkrOzytJzSsBAA' } },
    });
    expect(json(result).fail[0].errors[0].code).toBe('err_validation_invalid_token');
  });

  test('a token of one stream is refused by another', async () => {
    const first = json(
      await v1Caller(sim, clock.now).post(ENDPOINTS.dlp.path, {
        meta: { pagination: { pageSize: 5 } },
        data: [windowItem('dlp')],
      }),
    );
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.audit.path, {
      meta: { pagination: { pageToken: first.meta.pagination.next } },
    });
    expect(json(result).fail[0].errors[0].code).toBe('err_validation_invalid_token');
  });

  test('filters narrow the records and stay in force through the page token', async () => {
    const caller = v1Caller(sim, clock.now);
    const walk = await walkLogs(
      caller,
      ENDPOINTS['ttp-url'].path,
      { ...windowItem('ttp-url'), route: 'inbound', scanResult: 'all' },
      'clickLogs',
      {
        pageSize: 3,
      },
    );
    const expected = (sim.groundTruth('ttp-url', 1) as Record<string, unknown>[]).filter(
      (r) => r.route === 'inbound',
    );
    expect(expected.length).toBeGreaterThan(3);
    expect(sorted(walk.records)).toEqual(sorted(expected));
  });

  test('pageSize above the maximum is clamped', async () => {
    const result = await v1Caller(sim, clock.now).post(ENDPOINTS.audit.path, {
      meta: { pagination: { pageSize: 5000 } },
      data: [windowItem('audit')],
    });
    expect(json(result).meta.pagination.pageSize).toBe(500);
  });

  test('both archive search paths answer by default', async () => {
    const caller = v1Caller(sim, clock.now);
    const a = await walkLogs(
      caller,
      '/api/archive/get-archive-search-logs',
      windowItem('archive-search'),
      'logs',
    );
    const b = await walkLogs(caller, '/api/archive/get-search-logs', windowItem('archive-search'), 'logs');
    expect(sorted(b.records)).toEqual(sorted(a.records));
  });

  test('wrong method gets 405', async () => {
    const caller = await v2Caller(sim);
    const result = await caller.get(ENDPOINTS.dlp.path);
    expect(result.status).toBe(405);
  });
});

describe('look-back and late data', () => {
  test('audit serves only the last 60 days', async () => {
    const now = clock.now();
    const sim = await startSimulator({
      now: clock.now,
      events: { audit: 100 },
      range: { start: new Date(now - 100 * 86_400_000), end: new Date(now) },
    });
    try {
      const truth = sim.groundTruth('audit', 1) as Record<string, unknown>[];
      expect(truth.length).toBeGreaterThan(45);
      expect(truth.length).toBeLessThan(75);
      expect(truth.every((r) => timeOf('audit', r) >= now - 60 * 86_400_000)).toBe(true);
      const walk = await walkLogs(
        v1Caller(sim, clock.now),
        ENDPOINTS.audit.path,
        windowItem('audit', formatMimecastDate(now - 100 * 86_400_000), formatMimecastDate(now)),
        undefined,
        { pageSize: 500 },
      );
      expect(sorted(walk.records)).toEqual(sorted(truth));
    } finally {
      await sim.stop();
    }
  });

  test('late records land inside windows already read, and show up when the window is read again', async () => {
    const sim = await startSimulator({ now: clock.now, events: { dlp: 30 } });
    try {
      const caller = v1Caller(sim, clock.now);
      const first = await walkLogs(caller, ENDPOINTS.dlp.path, windowItem('dlp'), 'dlpLogs', {
        pageSize: 10,
      });
      expect(first.records).toHaveLength(30);
      const newestServed = Math.max(...first.records.map((r) => timeOf('dlp', r)));
      const late = sim.publish('dlp', 4, { lateBySeconds: 6 * 3600 }) as Record<string, unknown>[];
      expect(late).toHaveLength(4);
      for (const record of late) expect(timeOf('dlp', record)).toBeLessThan(newestServed);
      const again = await walkLogs(caller, ENDPOINTS.dlp.path, windowItem('dlp'), 'dlpLogs', {
        pageSize: 10,
      });
      expect(again.records).toHaveLength(34);
      expect(sorted(again.records)).toEqual(sorted(sim.groundTruth('dlp', 1)));
      expect(sorted(again.records)).toEqual(expect.arrayContaining(sorted(late)));
    } finally {
      await sim.stop();
    }
  });

  test('identical records: copies published at once and later are served as separate records', async () => {
    const sim = await startSimulator({ now: clock.now, events: { audit: 5 } });
    try {
      const caller = v1Caller(sim, clock.now);
      const copies = sim.publish('audit', 3, { identical: true, lateBySeconds: 3600 }) as Record<
        string,
        unknown
      >[];
      expect(new Set(copies.map((r) => canonicalJson(r))).size).toBe(1);
      const later = sim.publish('audit', 2, { copyOf: copies[0] });
      expect(later).toEqual([copies[0], copies[0]]);
      expect(() => sim.publish('audit', 1, { copyOf: { eventTime: windowEnd } })).toThrow(/no audit record/);
      expect(() => sim.publish('siem', 1, { copyOf: copies[0] })).toThrow(/paged log streams only/);
      const walk = await walkLogs(caller, ENDPOINTS.audit.path, windowItem('audit'), undefined, {
        pageSize: 2,
      });
      expect(walk.records).toHaveLength(10);
      expect(walk.records.filter((r) => canonicalJson(r) === canonicalJson(copies[0]))).toHaveLength(5);
      expect(sorted(walk.records)).toEqual(sorted(sim.groundTruth('audit', 1)));
    } finally {
      await sim.stop();
    }
  });

  test.each([
    ['snapshot', 20],
    ['live', 23],
  ] as const)(
    'a walk in progress under pagingConsistency %s sees %i records',
    async (consistency, expected) => {
      const sim = await startSimulator({
        now: clock.now,
        events: { audit: 20 },
        variants: { pagingConsistency: consistency },
      });
      try {
        const caller = v1Caller(sim, clock.now);
        const item = windowItem('audit');
        let page = json(
          await caller.post(ENDPOINTS.audit.path, { meta: { pagination: { pageSize: 5 } }, data: [item] }),
        );
        let seen = page.data.length;
        // Old-dated records sort after the cursor of a newest-first walk.
        sim.publish('audit', 3, { lateBySeconds: 20 * 3600 });
        for (let i = 0; i < 20 && page.meta.pagination.next; i++) {
          const token = page.meta.pagination.next;
          page = json(
            await caller.post(ENDPOINTS.audit.path, {
              meta: { pagination: { pageSize: 5, pageToken: token } },
            }),
          );
          seen += page.data.length;
        }
        expect(seen).toBe(expected);
        const fresh = await walkLogs(caller, ENDPOINTS.audit.path, item, undefined, { pageSize: 100 });
        expect(fresh.records).toHaveLength(23);
      } finally {
        await sim.stop();
      }
    },
  );
});

describe('paging variants', () => {
  test('trailing-empty-page: every page with data has next, the page after the last is empty', async () => {
    const sim = await startSimulator({
      now: clock.now,
      events: { dlp: 10 },
      variants: { pagingEnd: 'trailing-empty-page' },
    });
    try {
      const caller = v1Caller(sim, clock.now);
      const page1 = json(
        await caller.post(ENDPOINTS.dlp.path, {
          meta: { pagination: { pageSize: 10 } },
          data: [windowItem('dlp')],
        }),
      );
      expect(page1.data[0].dlpLogs).toHaveLength(10);
      expect(page1.meta.pagination.next).toEqual(expect.any(String));
      const page2 = json(
        await caller.post(ENDPOINTS.dlp.path, {
          meta: { pagination: { pageSize: 10, pageToken: page1.meta.pagination.next } },
        }),
      );
      expect(page2.data).toEqual([]);
      expect(page2.meta.pagination.next).toEqual(expect.any(String));
      const walk = await walkLogs(caller, ENDPOINTS.dlp.path, windowItem('dlp'), 'dlpLogs', { pageSize: 3 });
      expect(walk.records).toHaveLength(10);
    } finally {
      await sim.stop();
    }
  });

  test('omit-next (default): the last page has no next', async () => {
    const sim = await startSimulator({ now: clock.now, events: { dlp: 10 } });
    try {
      const page = json(
        await v1Caller(sim, clock.now).post(ENDPOINTS.dlp.path, {
          meta: { pagination: { pageSize: 10 } },
          data: [windowItem('dlp')],
        }),
      );
      expect(page.meta.pagination.next).toBeUndefined();
    } finally {
      await sim.stop();
    }
  });

  test('pageSizeOverMax fail and archiveSearchPaths variants', async () => {
    const sim = await startSimulator({
      now: clock.now,
      events: { audit: 5 },
      variants: { pageSizeOverMax: 'fail', maxPageSize: 100, archiveSearchPaths: 'get-search-logs' },
    });
    try {
      const caller = v1Caller(sim, clock.now);
      const big = json(
        await caller.post(ENDPOINTS.audit.path, {
          meta: { pagination: { pageSize: 101 } },
          data: [windowItem('audit')],
        }),
      );
      expect(big.fail[0].errors[0].code).toBe('err_validation_max_value');
      expect(
        (await caller.post('/api/archive/get-archive-search-logs', { data: [windowItem('archive-search')] }))
          .status,
      ).toBe(404);
      expect(
        (await caller.post('/api/archive/get-search-logs', { data: [windowItem('archive-search')] })).status,
      ).toBe(200);
    } finally {
      await sim.stop();
    }
  });
});
