/**
 * The client against the project's Mimecast simulator over real loopback HTTP: every stream on both API
 * versions, paged from an empty cursor to caught up, compared with the simulator's ground truth; late
 * records; probes; and each injected fault mapped to its typed error (or recovered where the design says).
 */
import { Agent } from 'undici';
import type { Cursor } from '../../lambda/core/ports';
import { isSnapshotStream, type StreamId, streamsFor } from '../../lambda/core/streams';
import {
  AuthenticationError,
  CollectorError,
  InvalidSiemTokenError,
  PermissionError,
  ProtocolError,
  RequestError,
  ThrottledError,
  TransientError,
} from '../../lambda/errors';
import { createMimecastClient, type MimecastClientOptions } from '../../lambda/mimecast';
import { buildTick } from '../../lambda/root';
import { RecordingSink } from '../core/support/fakes';
import { MemoryCheckpointStore } from '../core/support/memory-checkpoint-store';
import { RecordingLog } from '../kit/log';
import { rigSettings } from '../kit/settings';
import { type FaultRule, type RunningSimulator, type SimulatorOptions, startSimulator } from '../simulator';
import { expectedEventId } from '../support/event-ids';

const DAY = 86_400_000;

const SMALL: SimulatorOptions = {
  seed: 11,
  events: {
    siem: 80,
    audit: 60,
    'ttp-url': 50,
    'ttp-attachment': 40,
    'ttp-impersonation': 40,
    dlp: 40,
    'held-release': 40,
    'archive-search': 40,
    'malware-customer': 30,
    'malware-grid': 40,
    'siem-ci': 60,
  },
  siem: { fileIntervalMs: 6 * 3_600_000, v1EventsPerFile: 30, v2EventsPerFile: 20 },
  threatFeed: { indicatorsPerFile: 15 },
};

const budget = (ms = 15_000) => ({ signal: new AbortController().signal, deadline: Date.now() + ms });

interface Harness {
  sim: RunningSimulator;
  dispatcher: Agent;
  /** Client clock = wall clock + offset (the simulator keeps wall time). */
  offset: { ms: number };
}

function makeClient(h: Harness, api: 1 | 2, overrides: Partial<MimecastClientOptions> = {}) {
  return createMimecastClient({
    baseUrl: h.sim.url,
    credentials: api === 1 ? h.sim.credentials.v1 : h.sim.credentials.v2,
    dispatcher: h.dispatcher,
    clock: { now: () => Date.now() + h.offset.ms },
    pageSizes: { json: 25, siemBatch: 5 },
    retry: { baseDelayMs: 1, maxDelayMs: 10 },
    ...overrides,
  });
}

/** Pages until caught up (bounded), returning the ids delivered and where it stopped. */
async function drain(
  client: ReturnType<typeof makeClient>,
  stream: StreamId,
  cursor?: Cursor,
  maxCalls = 400,
) {
  const source = client.source(stream);
  let current = cursor ?? source.seed(new Date(Date.now() - 3 * DAY), new Date());
  const ids: string[] = [];
  let calls = 0;
  for (; calls < maxCalls; calls += 1) {
    const page = await source.fetchPage(current, budget());
    for await (const record of page.records) {
      expect(record.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(typeof record.logType).toBe('string');
      ids.push(record.id);
    }
    const end = page.end();
    current = end.next;
    if (end.caughtUp) {
      return { ids, cursor: current, calls: calls + 1 };
    }
  }
  throw new Error(`${stream} not caught up after ${maxCalls} calls`);
}

/** `keyValue`: the API 1.0 SIEM files are key_value (their records are identified by canonical JSON). */
function truthIds(sim: RunningSimulator, stream: StreamId, api: 1 | 2, keyValue = false): string[] {
  return sim
    .groundTruth(stream, api)
    .map((record) => expectedEventId(stream, record, { canonical: keyValue }));
}

function expectExactlyOnce(delivered: string[], expected: string[]) {
  expect(new Set(delivered).size).toBe(delivered.length);
  expect([...delivered].sort()).toEqual([...expected].sort());
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

async function withSimulator(options: SimulatorOptions) {
  const h: Harness = {
    sim: await startSimulator(options),
    dispatcher: new Agent({ keepAliveTimeout: 2000 }),
    offset: { ms: 0 },
  };
  return h;
}

async function stopHarness(h: Harness | undefined) {
  if (h) {
    await h.dispatcher.close();
    await h.sim.stop();
  }
}

/** Log streams of an API version: snapshots (once a day, no late records) have test/mimecast/snapshot.test.ts. */
const logStreams = (api: 1 | 2) => streamsFor(api).filter((s) => !isSnapshotStream(s));

describe.each([1, 2] as const)('API %i: every stream against the simulator', (api) => {
  let h: Harness;
  // One client for the whole block, as one container holds one: API 2.0 must ask for one token only.
  let client: ReturnType<typeof makeClient>;
  beforeAll(async () => {
    h = await withSimulator(SMALL);
    client = makeClient(h, api);
  });
  afterAll(() => stopHarness(h));

  it.each(logStreams(api))(
    '%s: empty cursor to caught up, each record once; late records in a later call',
    async (stream) => {
      h.offset.ms = 0;
      const first = await drain(client, stream);
      expectExactlyOnce(first.ids, truthIds(h.sim, stream, api));
      expect(first.ids.length).toBeGreaterThan(0);

      // Caught up: asking again yields nothing new.
      const again = await drain(client, stream, first.cursor);
      expect(again.ids).toEqual([]);

      // Late records (event times two minutes in the past), then the clock moves past the lateness margin.
      const late = h.sim
        .publish(stream, 4, { lateBySeconds: 120, api })
        .map((record) => expectedEventId(stream, record));
      h.offset.ms = 10 * 60_000;
      const later = await drain(client, stream, again.cursor);
      expectExactlyOnce(later.ids, late);
      expect(later.ids.filter((id) => first.ids.includes(id))).toEqual([]);
      h.offset.ms = 0;
    },
  );

  it.each(streamsFor(api))('%s: probe succeeds with good credentials', async (stream) => {
    await client.source(stream).probe(budget());
  });

  it('never sends a credential to a batch file URL', () => {
    const downloads = h.sim.requests().filter((r) => r.api === undefined && r.path.endsWith('.json.gz'));
    if (api === 2) {
      expect(downloads.length).toBeGreaterThan(0);
    }
    for (const download of downloads) {
      expect(download.headers.authorization).toBeUndefined();
      expect(Object.keys(download.headers).filter((k) => k.startsWith('x-mc-'))).toEqual([]);
    }
  });

  it('asked for one API 2.0 token for every call above', () => {
    expect(h.sim.requests().filter((r) => r.path === '/oauth/token')).toHaveLength(api === 2 ? 1 : 0);
  });
});

describe.each([1, 2] as const)('API %i: idle window streams through the engine', (api) => {
  const WINDOW_STREAMS = streamsFor(1).filter((stream) => stream !== 'siem');
  let h: Harness;
  let client: ReturnType<typeof makeClient>;
  beforeAll(async () => {
    h = await withSimulator(SMALL);
    // The first pass alone: during the hour after the stream's newest event, the late-data re-check adds
    // one call per 10 minutes of event time behind it (measured in test/integration/late-data.test.ts).
    client = makeClient(h, api, { lateDataMinutes: 0 });
  });
  afterAll(() => stopHarness(h));

  it.each(WINDOW_STREAMS)(
    '%s: one Mimecast call per tick when caught up; late events still delivered, once',
    async (stream) => {
      h.offset.ms = 0;
      const clock = { now: () => Date.now() + h.offset.ms };
      const store = new MemoryCheckpointStore();
      const sink = new RecordingSink();
      const collectionStart = new Date(Date.now() - 3 * DAY);
      let ticks = 0;
      /** One scheduled tick; `calls` counts the requests it sent to Mimecast (token requests aside). */
      const tick = async () => {
        h.sim.clearRequests();
        ticks += 1;
        const settings = rigSettings({
          instance: 'idle',
          apiVersion: api,
          mimecastBaseUrl: h.sim.url,
          streams: [stream],
          collectionStart,
          sinkUrl: 'http://127.0.0.1:9/unused',
          sinkFormat: 'ndjson',
          lateDataMinutes: 0,
        });
        // The client built above (its token cache and remembered paths carry over), a recording destination.
        const result = await buildTick(
          settings,
          {
            log: new RecordingLog(),
            store,
            credentials: { mimecast: api === 1 ? h.sim.credentials.v1 : h.sim.credentials.v2 },
            dispatcher: h.dispatcher,
          },
          { clock, client, wrapSink: () => sink },
        ).run({ owner: `tick-${ticks}`, deadline: clock.now() + 60_000, streams: settings.streams });
        const calls = h.sim.requests().filter((r) => r.path !== '/oauth/token').length;
        return { result: result.streams[0]!, calls };
      };

      const first = await tick();
      expect(first.result.outcome).toBe('caught-up');
      const truth = truthIds(h.sim, stream, api);
      expectExactlyOnce(sink.ids(stream), truth);

      // Idle ticks five minutes apart: one call each, nothing delivered, the window end left open.
      for (let i = 1; i <= 3; i += 1) {
        h.offset.ms = i * 5 * 60_000;
        const idle = await tick();
        expect(idle).toMatchObject({ calls: 1, result: { outcome: 'caught-up', events: 0, pages: 1 } });
      }
      expect(store.peek({ instance: 'idle', stream })?.cursor).toMatchObject({ to: null, pageToken: null });

      // Indexed late: event times two minutes before wall time, inside windows the idle ticks already
      // asked (they reached wall time + 10 min), but after the newest event delivered.
      const late = h.sim
        .publish(stream, 4, { lateBySeconds: 120, api })
        .map((record) => expectedEventId(stream, record));
      h.offset.ms = 20 * 60_000;
      const caught = await tick();
      expect(caught).toMatchObject({ calls: 1, result: { outcome: 'caught-up', events: late.length } });
      expectExactlyOnce(sink.ids(stream), [...truth, ...late]);

      h.offset.ms = 25 * 60_000;
      expect(await tick()).toMatchObject({ calls: 1, result: { outcome: 'caught-up', events: 0 } });
      expectExactlyOnce(sink.ids(stream), truthIds(h.sim, stream, api));
      h.offset.ms = 0;
    },
  );
});

describe('simulator variants: every UNCERTAIN switch flipped', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await stopHarness(h);
    h = undefined;
  });

  it.each([1, 2] as const)('API %i: every stream still delivered exactly once', async (api) => {
    h = await withSimulator({
      ...SMALL,
      siem: { ...SMALL.siem, v1FileFormat: 'key_value' },
      variants: {
        v1DateSuffixes: ['UTC'],
        v1SiemCompressedExtension: 'zip',
        v1SiemNoMoreFilesToken: 'echo',
        v1SiemInvalidTokenStatus: 400,
        v1KeyValueLineEnding: 'crlf',
        archiveSearchPaths: 'get-search-logs',
        pagingEnd: 'trailing-empty-page',
        pagingConsistency: 'live',
        pageSizeOverMax: 'fail',
        v2BatchMultiType: 'reject',
        v2BatchDatesRequired: 'first-call',
        threatFeedTokenOnLastFile: true,
      },
    });
    const client = makeClient(h, api, {
      siemFileFormat: 'key_value',
      pageSizes: { json: 500, siemBatch: 100 },
    });
    for (const stream of streamsFor(api)) {
      const result = await drain(client, stream);
      expectExactlyOnce(result.ids, truthIds(h.sim, stream, api, api === 1));
      const again = await drain(client, stream, result.cursor);
      expect(again.ids).toEqual([]);
    }
  });
});

interface FaultCase {
  name: string;
  api: 1 | 2;
  stream: StreamId;
  rule: Omit<FaultRule, 'path'> & { path?: FaultRule['path'] };
  expectError?: new (...args: never[]) => CollectorError;
  /** The token endpoint's own faults need a client without a cached token. */
  freshClient?: boolean;
  check?: (error: CollectorError | undefined, h: Harness) => void;
  budgetMs?: number;
}

const AUDIT = '/api/audit/get-audit-events';
const SIEM_V1 = '/api/audit/get-siem-logs';
const BATCH = '/siem/v1/batch/events/cg';
const BATCH_FILE = /\.json\.gz$/;

const both = (make: (api: 1 | 2) => FaultCase): FaultCase[] => [make(1), make(2)];

const FAULT_CASES: FaultCase[] = [
  ...both((api) => ({
    name: `API ${api}: 500 twice is retried and recovers`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, times: 2, fault: { kind: 'status', status: 500 } },
  })),
  ...both((api) => ({
    name: `API ${api}: a 503 gateway page is retried and recovers`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, fault: { kind: 'status', status: 503 } },
  })),
  ...both((api) => ({
    name: `API ${api}: 500 every time ends in TransientError`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, times: Number.POSITIVE_INFINITY, fault: { kind: 'status', status: 500 } },
    expectError: TransientError,
    check: (error) => {
      expect(error?.status).toBe(500);
      expect(error?.endpoint).toBe(`POST ${AUDIT}`);
    },
  })),
  ...both((api) => ({
    name: `API ${api}: 401 every time is AuthenticationError`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, times: Number.POSITIVE_INFINITY, fault: { kind: 'status', status: 401 } },
    expectError: AuthenticationError,
    check: (error, h) => {
      expect(error?.status).toBe(401);
      // API 2.0 fetches one new token and retries once; API 1.0 does not retry.
      expect(h.sim.requests().filter((r) => r.path === AUDIT)).toHaveLength(api === 2 ? 2 : 1);
    },
  })),
  {
    name: 'API 2: one 401 is healed by a fresh token',
    api: 2,
    stream: 'audit',
    rule: { path: AUDIT, fault: { kind: 'status', status: 401 } },
  },
  ...both((api) => ({
    name: `API ${api}: 403 is PermissionError naming the permission`,
    api,
    stream: 'ttp-url',
    rule: { path: '/api/ttp/url/get-logs', fault: { kind: 'status', status: 403 } },
    expectError: PermissionError,
    check: (error) => {
      expect((error as PermissionError).requiredPermission).toBe(
        api === 1 ? 'Monitoring | URL Protection | Read' : 'Threats, Security Events and Data for CG',
      );
      expect(error?.stream).toBe('ttp-url');
    },
  })),
  {
    name: 'API 1: 418 binding expired is AuthenticationError saying to renew the keys',
    api: 1,
    stream: 'dlp',
    rule: { path: '/api/dlp/get-logs', fault: { kind: 'status', status: 418 } },
    expectError: AuthenticationError,
    check: (error) => expect(error?.remedy).toMatch(/binding expired/),
  },
  ...([1, 2] as const).flatMap((api) =>
    (['reset-ms', 'reset-epoch-seconds', 'retry-after', 'none'] as const).map(
      (hint): FaultCase => ({
        name: `API ${api}: 429 (${hint}) is ThrottledError, not retried`,
        api,
        stream: 'audit',
        rule: { path: AUDIT, fault: { kind: 'throttle', hint, waitMs: 3000 } },
        expectError: ThrottledError,
        check: (error, h) => {
          const wait = (error as ThrottledError).retryAfterMs;
          if (hint === 'none') {
            expect(wait).toBe(60_000);
          } else {
            expect(wait).toBeGreaterThanOrEqual(1000);
            expect(wait).toBeLessThanOrEqual(4000);
          }
          expect(h.sim.requests().filter((r) => r.path === AUDIT)).toHaveLength(1);
        },
      }),
    ),
  ),
  ...both((api) => ({
    name: `API ${api}: non-retryable fail[] in HTTP 200 is RequestError`,
    api,
    stream: 'held-release',
    rule: {
      path: '/api/gateway/get-held-release-logs',
      fault: { kind: 'fail-200', code: 'err_validation_blank', retryable: false },
    },
    expectError: RequestError,
    check: (error) => expect(error?.codes).toEqual(['err_validation_blank']),
  })),
  ...both((api) => ({
    name: `API ${api}: retryable fail[] in HTTP 200 is retried and recovers`,
    api,
    stream: 'held-release',
    rule: {
      path: '/api/gateway/get-held-release-logs',
      fault: { kind: 'fail-200', code: 'err_busy', retryable: true },
    },
  })),
  ...both((api) => ({
    name: `API ${api}: fail[] app_forbidden in HTTP 200 is PermissionError`,
    api,
    stream: 'archive-search',
    rule: { path: /archive/, fault: { kind: 'fail-200', code: 'app_forbidden', retryable: false } },
    expectError: PermissionError,
  })),
  ...both((api) => ({
    name: `API ${api}: a stall past the deadline is TransientError`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, fault: { kind: 'delay', ms: 5000 } },
    expectError: TransientError,
    budgetMs: 600,
  })),
  ...both((api) => ({
    name: `API ${api}: a body stalled mid-way past the deadline is TransientError`,
    api,
    stream: 'ttp-attachment',
    rule: { path: '/api/ttp/attachment/get-logs', fault: { kind: 'delay', ms: 5000, phase: 'mid-body' } },
    expectError: TransientError,
    budgetMs: 600,
  })),
  ...both((api) => ({
    name: `API ${api}: a truncated JSON page is fetched again and recovers`,
    api,
    stream: 'ttp-impersonation',
    rule: { path: '/api/ttp/impersonation/get-logs', fault: { kind: 'truncate' } },
  })),
  ...both((api) => ({
    name: `API ${api}: a connection reset is retried and recovers`,
    api,
    stream: 'dlp',
    rule: { path: '/api/dlp/get-logs', fault: { kind: 'reset' } },
  })),
  ...both((api) => ({
    name: `API ${api}: truncated every time ends in TransientError`,
    api,
    stream: 'dlp',
    rule: { path: '/api/dlp/get-logs', times: Number.POSITIVE_INFINITY, fault: { kind: 'truncate' } },
    expectError: TransientError,
  })),
  ...both((api) => ({
    name: `API ${api}: malformed JSON is ProtocolError, never "no data"`,
    api,
    stream: 'audit',
    rule: { path: AUDIT, fault: { kind: 'malformed-json' } },
    expectError: ProtocolError,
    check: (error) => expect((error as ProtocolError).excerpt?.length).toBeGreaterThan(0),
  })),
  ...both((api) => ({
    name: `API ${api}: malformed threat feed is ProtocolError`,
    api,
    stream: 'malware-grid',
    rule: { path: '/api/ttp/threat-intel/get-feed', fault: { kind: 'malformed-json' } },
    expectError: ProtocolError,
  })),
  {
    name: 'API 1: an invalid SIEM token is InvalidSiemTokenError',
    api: 1,
    stream: 'siem',
    rule: { path: SIEM_V1, fault: { kind: 'invalid-siem-token' } },
    expectError: InvalidSiemTokenError,
  },
  {
    name: 'API 1: a SIEM file cut short is TransientError while reading it',
    api: 1,
    stream: 'siem',
    rule: { path: SIEM_V1, fault: { kind: 'truncate' } },
    expectError: TransientError,
  },
  {
    name: 'API 1: a SIEM answer mangled into bad JSON is ProtocolError',
    api: 1,
    stream: 'siem',
    rule: { path: SIEM_V1, fault: { kind: 'malformed-json' } },
    expectError: ProtocolError,
  },
  {
    name: 'API 2: an expired batch URL is listed again and recovers',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH_FILE, fault: { kind: 'expire-batch-url' } },
  },
  {
    name: 'API 2: a batch URL that stays expired is TransientError, never skipped',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH_FILE, times: Number.POSITIVE_INFINITY, fault: { kind: 'expire-batch-url' } },
    expectError: TransientError,
    check: (error) => {
      expect(error?.status).toBe(403);
      expect(error?.endpoint).toMatch(/^GET \/mimecast-siem-cg\/.*\.json\.gz$/);
      expect(error?.message).not.toMatch(/X-Amz/);
    },
  },
  {
    name: 'API 2: a batch listing 500 is retried and recovers',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH, fault: { kind: 'status', status: 500 } },
  },
  {
    name: 'API 2: fail[] in a 200 batch listing is an error',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH, fault: { kind: 'fail-200', code: 'app_forbidden', retryable: false } },
    expectError: PermissionError,
  },
  {
    name: 'API 2: a malformed batch listing is ProtocolError',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH, fault: { kind: 'malformed-json' } },
    expectError: ProtocolError,
  },
  {
    name: 'API 2: a corrupt batch file download is ProtocolError or TransientError, never silence',
    api: 2,
    stream: 'siem',
    rule: { path: BATCH_FILE, times: Number.POSITIVE_INFINITY, fault: { kind: 'truncate' } },
    expectError: TransientError,
  },
  {
    name: 'API 2: a token endpoint 503 is retried and recovers',
    api: 2,
    stream: 'audit',
    rule: { path: '/oauth/token', fault: { kind: 'status', status: 503 } },
    freshClient: true,
  },
  {
    name: 'API 2: a throttled token endpoint is ThrottledError',
    api: 2,
    stream: 'audit',
    rule: { path: '/oauth/token', fault: { kind: 'throttle', waitMs: 2000 } },
    expectError: ThrottledError,
    freshClient: true,
  },
];

describe('injected faults', () => {
  let h: Harness;
  let clients: Record<1 | 2, ReturnType<typeof makeClient>>;
  beforeAll(async () => {
    h = await withSimulator(SMALL);
    clients = { 1: makeClient(h, 1), 2: makeClient(h, 2) };
  });
  afterAll(() => stopHarness(h));
  beforeEach(() => {
    h.sim.clearFaults();
    h.sim.clearRequests();
  });

  it.each(FAULT_CASES.map((c) => [c.name, c] as const))('%s', async (_, fault) => {
    h.sim.inject(fault.rule as FaultRule);
    const client = fault.freshClient ? makeClient(h, fault.api) : clients[fault.api];
    let error: CollectorError | undefined;
    const started = Date.now();
    try {
      const source = client.source(fault.stream);
      const cursor = source.seed(new Date(Date.now() - 3 * DAY), new Date());
      // One page, read to the end (streamed files fail while reading).
      const page = await source.fetchPage(cursor, budget(fault.budgetMs ?? 15_000));
      let count = 0;
      for await (const _record of page.records) count += 1;
      expect(count).toBeGreaterThan(0);
    } catch (err) {
      expect(err).toBeInstanceOf(CollectorError);
      error = err as CollectorError;
    }
    if (fault.expectError) {
      expect(error).toBeInstanceOf(fault.expectError);
      expect(error?.stream).toBe(fault.stream);
      expect(error?.endpoint).toMatch(/^(GET|POST) \/[^?]*$/);
    } else {
      expect(error).toBeUndefined();
      expect(h.sim.requests().some((r) => r.fault !== undefined)).toBe(true);
    }
    if (fault.budgetMs !== undefined) {
      expect(Date.now() - started).toBeLessThan(fault.budgetMs + 1500);
    }
    fault.check?.(error, h);
    // No secret ever in what an error says.
    const secrets = [
      h.sim.credentials.v1.secretKey,
      h.sim.credentials.v1.appKey,
      h.sim.credentials.v2.clientSecret,
    ];
    const said = error ? `${error.message} ${error.remedy} ${JSON.stringify(error.toJSON())}` : '';
    for (const secret of secrets) {
      expect(said).not.toContain(secret);
    }
  });

  it('API 1: resuming the same SIEM cursor after a truncated file yields the whole file', async () => {
    const client = clients[1];
    const source = client.source('siem');
    const cursor = source.seed(new Date(Date.now() - 3 * DAY), new Date());
    const clean = await source.fetchPage(cursor, budget());
    const expected: string[] = [];
    for await (const record of clean.records) expected.push(record.id);
    h.sim.inject({ path: SIEM_V1, fault: { kind: 'truncate' } });
    const cut = await source.fetchPage(cursor, budget());
    await expect(
      (async () => {
        for await (const _record of cut.records) {
          // drain until it fails
        }
      })(),
    ).rejects.toBeInstanceOf(TransientError);
    const again = await source.fetchPage(cursor, budget());
    const got: string[] = [];
    for await (const record of again.records) got.push(record.id);
    expect(got).toEqual(expected);
  });

  it('API 1: an expired binding is AuthenticationError (418)', async () => {
    const sim = await startSimulator({ ...SMALL, events: { audit: 5 } });
    const dispatcher = new Agent();
    try {
      sim.expireV1Binding();
      const client = createMimecastClient({ baseUrl: sim.url, credentials: sim.credentials.v1, dispatcher });
      const error = await failure(client.source('audit').probe(budget()));
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.status).toBe(418);
      expect(error.codes).toContain('err_xdk_binding_expired');
    } finally {
      await dispatcher.close();
      await sim.stop();
    }
  });

  it('API 2: revoked tokens are replaced once, transparently', async () => {
    const client = clients[2];
    await client.source('audit').probe(budget());
    h.sim.clearRequests();
    h.sim.revokeV2Tokens();
    await client.source('audit').probe(budget());
    expect(h.sim.requests().filter((r) => r.path === '/oauth/token')).toHaveLength(1);
    expect(
      h.sim
        .requests()
        .filter((r) => r.path === AUDIT)
        .map((r) => r.status),
    ).toEqual([401, 200]);
  });

  it.each(['401-fail', '400-empty'] as const)(
    'API 2: refused client credentials (%s) are AuthenticationError',
    async (variant) => {
      const sim = await startSimulator({
        ...SMALL,
        events: { audit: 5 },
        variants: { v2OAuthFailure: variant },
      });
      const dispatcher = new Agent();
      try {
        const client = createMimecastClient({
          baseUrl: sim.url,
          credentials: { ...sim.credentials.v2, clientSecret: 'not-the-secret' },
          dispatcher,
        });
        const error = await failure(client.source('audit').probe(budget()));
        expect(error).toBeInstanceOf(AuthenticationError);
        expect(error.endpoint).toBe('POST /oauth/token');
        expect(JSON.stringify(error.toJSON())).not.toContain('not-the-secret');
      } finally {
        await dispatcher.close();
        await sim.stop();
      }
    },
  );

  it('API 1: a wrong secret key is AuthenticationError (invalid signature)', async () => {
    const client = createMimecastClient({
      baseUrl: h.sim.url,
      credentials: { ...h.sim.credentials.v1, secretKey: Buffer.from('wrong').toString('base64') },
      dispatcher: h.dispatcher,
    });
    const error = await failure(client.source('siem').probe(budget()));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.status).toBe(401);
  });

  it('API 2: a call quota surfaces as ThrottledError with the reset hint', async () => {
    h.sim.inject({ path: AUDIT, fault: { kind: 'token-bucket', capacity: 2, refillPerSecond: 0.01 } });
    const client = makeClient(h, 2, { pageSizes: { json: 5 } });
    const error = await failure(drain(client, 'audit'));
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBeGreaterThan(0);
    expect(h.sim.requests().filter((r) => r.path === AUDIT)).toHaveLength(3);
  });
});

describe('siem-ci: the Cloud Integrated listing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withSimulator(SMALL);
  });
  afterAll(() => stopHarness(h));

  it('lists /siem/v1/batch/events/ci one configured type at a time, dates on the first call only', async () => {
    const client = makeClient(h, 2, { siemCiTypes: ['urlclick', 'entities'] });
    h.sim.clearRequests();
    const result = await drain(client, 'siem-ci');
    const wanted = (h.sim.groundTruth('siem-ci', 2) as { type: string }[])
      .filter((r) => r.type === 'urlclick' || r.type === 'entities')
      .map((r) => expectedEventId('siem-ci', r));
    expectExactlyOnce(result.ids, wanted);
    const listings = h.sim.requests().filter((r) => r.path.startsWith('/siem/v1/batch/events/'));
    expect(new Set(listings.map((r) => r.path))).toEqual(new Set(['/siem/v1/batch/events/ci']));
    expect([...new Set(listings.map((r) => r.query.type))]).toEqual(['urlclick', 'entities']);
    for (const type of ['urlclick', 'entities']) {
      const [first, ...rest] = listings.filter((r) => r.query.type === type);
      expect(first!.query).toMatchObject({ dateRangeStartsAt: expect.any(String), pageSize: '5' });
      for (const later of rest) {
        expect(later.query.nextPage).toEqual(expect.any(String));
        expect(later.query.dateRangeStartsAt).toBeUndefined();
      }
    }
  });

  it('a batch file URL that stays expired is a transient error naming siem-ci and the file', async () => {
    const client = makeClient(h, 2, { limits: { fileUrlRelistAttempts: 0 } });
    h.sim.inject({
      path: /^\/mimecast-siem-ci\//,
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'expire-batch-url' },
    });
    try {
      const error = await failure(drain(client, 'siem-ci'));
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toMatch(/stream siem-ci, GET \/mimecast-siem-ci\/.*HTTP 403/);
    } finally {
      h.sim.clearFaults();
    }
  });
});
