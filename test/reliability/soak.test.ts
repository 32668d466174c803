/**
 * The soak (issue 7): two collectors — API 2.0 with every stream, API 1.0 with siem and audit — run
 * hundreds of ticks against one simulator while a seeded schedule injects the matrix's faults and
 * publishes data during the run, some of it late (always by less than the lateness margin).
 *
 * After every tick: no stored checkpoint is past a record the receiver lacks (replayed on the mirror);
 * an operator failure only where an operator fault was injected; every stream that stopped shows it in
 * its metrics and in a log line with a remedy. At the end, with the faults gone: caught up, zero loss,
 * repeats identical and within one batch per fault that fired. One summary line goes to the console.
 *
 * SOAK_SEED picks another schedule; SOAK_TICKS another number of rounds (one tick of each collector
 * per round; CI runs the defaults). Every loop is bounded in count, and the whole run in wall time.
 */
import type {
  CheckpointKey,
  CheckpointStore,
  LeaseToken,
  ProgressUpdate,
} from '../../lambda/core/checkpoint';
import { canonicalJson, type Envelope } from '../../lambda/core/envelope';
import type { Sink } from '../../lambda/core/ports';
import { type StreamId, streamsFor } from '../../lambda/core/streams';
import { CollectorError } from '../../lambda/errors';
import { type LocalCheckpointStore, openLocalCheckpointStore } from '../../lambda/state/local-store';
import { CrashError, Process, ProcessStore, StoreProxy } from '../kit/stores';
import type { Fault as ReceiverFault } from '../receivers';
import type { FaultRule } from '../simulator';
import { expectedEventId } from '../support/event-ids';
import {
  type Collector,
  closeSharedDispatcher,
  duplicateProblems,
  processSink,
  SeededRandom,
  startCollector,
  startWorld,
  streamHealth,
  type TickOptions,
  type TickRecord,
  type World,
} from './support';

const SEED = Number(process.env.SOAK_SEED ?? 7_2026);
const TICKS = Number(process.env.SOAK_TICKS ?? 150);
/** Virtual time between ticks, and the margin window ends keep behind now (the collector's default). */
const STEP_MS = 60_000;
const MARGIN_S = 300;
/** Publishing spreads a batch over up to 60 s before its end: late by at most this stays inside the margin. */
const MAX_LATE_S = MARGIN_S - 65;
const BATCH = 1000;
const TICK_BUDGET_MS = 120_000;
const SAFETY_MS = 2000;
/** Ticks after the schedule, faults cleared, to catch up. */
const MAX_FINAL_TICKS = 12;
/** Wall-time bound of the run (CI: about 45 s on 2 cores). */
const WALL_LIMIT_MS = Math.max(150_000, TICKS * 1000);

const INITIAL: Partial<Record<StreamId, number>> = {
  siem: 10_000, // per API version: 20 000 in all
  audit: 6000,
  'ttp-url': 6000,
  'ttp-attachment': 3000,
  'ttp-impersonation': 2000,
  dlp: 2000,
  'held-release': 2000,
  'archive-search': 2000,
  'malware-customer': 700, // indicators: three STIX objects each
  'malware-grid': 700,
};

/**
 * The streams both API versions serve. `siem-ci` repeats the `siem` batch protocol, and the Awareness
 * Training snapshots are read once a day, not by the minute: both have their own end-to-end tests.
 */
const SOAK_STREAMS = streamsFor(1);

const PATHS: Partial<Record<StreamId, string | RegExp>> = {
  siem: '',
  audit: '/api/audit/get-audit-events',
  'ttp-url': '/api/ttp/url/get-logs',
  'ttp-attachment': '/api/ttp/attachment/get-logs',
  'ttp-impersonation': '/api/ttp/impersonation/get-logs',
  dlp: '/api/dlp/get-logs',
  'held-release': '/api/gateway/get-held-release-logs',
  'archive-search': /^\/api\/archive\/get-(archive-)?search-logs$/,
  'malware-customer': '/api/ttp/threat-intel/get-feed',
  'malware-grid': '/api/ttp/threat-intel/get-feed',
};

function callPath(stream: StreamId, api: 1 | 2): string | RegExp {
  if (stream !== 'siem') return PATHS[stream]!;
  return api === 1 ? '/api/audit/get-siem-logs' : '/siem/v1/batch/events/cg';
}

function bodyPath(stream: StreamId, api: 1 | 2): string | RegExp {
  return stream === 'siem' && api === 2 ? /^\/mimecast-siem-cg\// : callPath(stream, api);
}

/** Per collector and stream: what must arrive, and what did. */
class Ledger {
  /** Ground-truth ids not delivered yet. */
  readonly undelivered = new Set<string>();
  readonly truth = new Set<string>();
  readonly first = new Map<string, string>();
  copies = 0;
  differing = 0;

  addTruth(ids: Iterable<string>): void {
    for (const id of ids) {
      this.truth.add(id);
      if (!this.first.has(id)) this.undelivered.add(id);
    }
  }

  deliver(envelope: Envelope): void {
    const json = JSON.stringify(envelope);
    const seen = this.first.get(envelope.id);
    this.copies += 1;
    if (seen === undefined) {
      this.first.set(envelope.id, json);
      this.undelivered.delete(envelope.id);
    } else if (seen !== json) {
      this.differing += 1;
    }
  }
}

/**
 * Ids are per occurrence, so the ledger cannot see two identical records (the generator makes some
 * when many records share a second): each record held n times must have arrived under n distinct ids.
 */
function identicalRecordProblems(key: string, truth: readonly unknown[], delivered: readonly Envelope[]) {
  const held = new Map<string, number>();
  for (const record of truth) {
    const text = canonicalJson(record);
    held.set(text, (held.get(text) ?? 0) + 1);
  }
  const ids = new Map<string, Set<string>>();
  for (const envelope of delivered) {
    const text = canonicalJson(envelope.event);
    const set = ids.get(text) ?? new Set<string>();
    set.add(envelope.id);
    ids.set(text, set);
  }
  const problems: string[] = [];
  let identical = 0;
  for (const [text, n] of held) {
    if (n < 2) continue;
    identical += n;
    const got = ids.get(text)?.size ?? 0;
    if (got !== n) problems.push(`${key}: a record held ${n} times arrived under ${got} ids`);
  }
  identicalHeld += identical;
  return problems;
}
let identicalHeld = 0;

interface Armed {
  name: string;
  /** Needs an operator: this tick's invocation may fail. */
  operator: boolean;
  options?: TickOptions;
  /** Which collector the tick options are for. */
  collector?: Collector;
  fired(): number;
}

let db: LocalCheckpointStore;
beforeAll(async () => {
  db = await openLocalCheckpointStore();
});
afterAll(async () => {
  await db.close();
  await closeSharedDispatcher();
});

it(
  `soak: seeded faults over ${TICKS} rounds of 2 collectors and 100 000+ events lose nothing`,
  async () => {
    const started = Date.now();
    const world = await startWorld({
      store: db.store,
      events: INITIAL,
      seed: SEED % 100_000,
      simulator: {
        // Pages well below a batch, so a tick usually reads several pages per stream and faults land
        // mid-paging, with records of earlier pages still waiting in the batch.
        siem: { fileIntervalMs: 30 * 60_000, v1EventsPerFile: 200, v2EventsPerFile: 200 },
        threatFeed: { indicatorsPerFile: 20 },
        variants: { maxPageSize: 50, v2BatchMaxPageSize: 100 },
      },
    });
    try {
      await soak(world, started);
    } finally {
      await world.stop();
    }
  },
  WALL_LIMIT_MS + 90_000,
);

async function soak(world: World, started: number): Promise<void> {
  const random = new SeededRandom(SEED);
  const common = {
    latenessMarginSeconds: MARGIN_S,
    tickBudgetMs: TICK_BUDGET_MS,
    limits: { batchMaxEvents: BATCH, concurrency: 4, safetyMarginMs: SAFETY_MS },
    sinkRetry: { attemptTimeoutMs: 1000 },
  };
  const collectors: Collector[] = [
    startCollector(world, { instance: 'soak-v2', api: 2, streams: [...SOAK_STREAMS], ...common }),
    startCollector(world, { instance: 'soak-v1', api: 1, streams: ['siem', 'audit'], ...common }),
  ];
  const ledgers = new Map<string, Ledger>();
  const ledger = (instance: string, stream: StreamId) => ledgers.get(`${instance}/${stream}`)!;
  for (const c of collectors) {
    for (const stream of c.streams) {
      const l = new Ledger();
      l.addTruth(world.mirror.groundTruth(stream, c.api).map((r) => expectedEventId(stream, r)));
      ledgers.set(`${c.instance}/${stream}`, l);
    }
  }
  let seenEnvelopes = 0;
  const collect = () => {
    const received = world.receiver.received();
    for (let i = seenEnvelopes; i < received.length; i += 1) {
      const e = received[i]!;
      ledgers.get(`${e.instance}/${e.stream}`)?.deliver(e);
    }
    seenEnvelopes = received.length;
  };
  const problems: string[] = [];
  const checker = new PositionChecker(ledger, problems);
  let firedSim = 0;
  let firedOther = 0;
  let armedCount = 0;
  let published = 0;
  let ticks = 0;
  const needsFresh = new Set<Collector>();

  const tickAll = async (armed: Armed | undefined, label: string): Promise<string[]> => {
    const outcomes: string[] = [];
    for (const c of collectors) {
      if (needsFresh.has(c)) {
        c.freshProcess();
        needsFresh.delete(c);
      }
      const options = armed?.collector === c || armed?.collector === undefined ? armed?.options : undefined;
      const record = await c.tick(options ?? {});
      ticks += 1;
      // After a crash, the next invocation is a new container.
      if (options?.signal !== undefined) needsFresh.add(c);
      collect();
      await checker.check(c, label);
      checkVisible(c, record, armed, label, problems);
      outcomes.push(...record.result.streams.map((s) => s.outcome));
    }
    firedSim += world.sim.requests().filter((r) => r.fault !== undefined).length;
    world.sim.clearRequests();
    // An operator fixes what needed fixing; other faults not yet used up are dropped too.
    world.sim.clearFaults();
    return outcomes;
  };

  for (let n = 1; n <= TICKS; n += 1) {
    if (Date.now() - started > WALL_LIMIT_MS) throw new Error(`soak over its wall-time limit at tick ${n}`);
    // Data arrives during the run, some of it late (but by less than the margin).
    for (let k = random.int(1, 3); k > 0; k -= 1) {
      const stream = random.pick(SOAK_STREAMS);
      const count = stream.startsWith('malware') ? random.int(5, 40) : random.int(50, 400);
      const late = random.chance(0.4) ? 0 : random.int(1, MAX_LATE_S);
      const made = world.publish(stream, count, { lateBySeconds: late });
      published += made.length;
      for (const c of collectors) {
        if (!c.streams.includes(stream)) continue;
        // siem without `api`: the v1 records come first, then the v2 ones.
        const mine = stream === 'siem' ? (c.api === 1 ? made.slice(0, count) : made.slice(count)) : made;
        ledger(c.instance, stream).addTruth(mine.map((r) => expectedEventId(stream, r)));
      }
    }
    const armed = random.chance(0.45) ? arm(world, collectors, random) : undefined;
    if (armed) armedCount += 1;
    await tickAll(armed, `tick ${n}${armed ? ` (${armed.name})` : ''}`);
    if (armed) firedOther += armed.fired();
    world.clock.advance(STEP_MS);
  }

  // The faults stop; everything published so far must arrive.
  world.clock.advance((MARGIN_S + 60) * 1000);
  let caughtUp = false;
  for (let n = 1; n <= MAX_FINAL_TICKS && !caughtUp; n += 1) {
    const outcomes = await tickAll(undefined, `final tick ${n}`);
    caughtUp =
      outcomes.every((o) => o === 'caught-up') &&
      [...ledgers.values()].every((l) => l.undelivered.size === 0);
    world.clock.advance(STEP_MS);
  }
  if (!caughtUp) problems.push(`not caught up ${MAX_FINAL_TICKS} ticks after the faults stopped`);

  const fired = firedSim + firedOther;
  const batches = acknowledgedBatchesByStream(world);
  const received = world.receiver.received();
  let lost = 0;
  let distinct = 0;
  let copies = 0;
  for (const c of collectors) {
    for (const stream of c.streams) {
      const key = `${c.instance}/${stream}`;
      const l = ledger(c.instance, stream);
      lost += l.undelivered.size;
      distinct += l.first.size;
      copies += l.copies;
      if (l.undelivered.size > 0) problems.push(`${key}: ${l.undelivered.size} events lost`);
      const delivered = received.filter((e) => e.instance === c.instance && e.stream === stream);
      problems.push(...identicalRecordProblems(key, world.mirror.groundTruth(stream, c.api), delivered));
      // Repeats identical, and within one batch per fault that fired.
      problems.push(...duplicateProblems(key as StreamId, delivered, batches.get(key) ?? [], fired));
    }
  }
  const duplicates = copies - distinct;
  console.log(
    `soak (seed ${SEED}): ${distinct} events delivered of ${distinct + lost} (${published} published during the run, ` +
      `some late), ${ticks} ticks of 2 collectors, ${armedCount} faults injected (${fired} fired), ` +
      `${duplicates} duplicates, lost = ${lost} (${identicalHeld} of them identical to another record); ` +
      `${Math.round((Date.now() - started) / 1000)} s`,
  );
  expect(problems.slice(0, 20)).toEqual([]);
  expect(lost).toBe(0);
  expect(distinct).toBeGreaterThanOrEqual(100_000);
  expect(duplicates).toBeLessThanOrEqual(fired * BATCH);
}

/**
 * Never ahead: whenever a stored checkpoint moved, a replay from it on the mirror must still reach
 * every record not delivered yet. (A checkpoint that did not move cannot have passed anything new.)
 */
class PositionChecker {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly ledger: (instance: string, stream: StreamId) => Ledger,
    private readonly problems: string[],
  ) {}

  async check(c: Collector, label: string): Promise<void> {
    for (const stream of c.streams) {
      const key = `${c.instance}/${stream}`;
      const checkpoint = await c.checkpoint(stream);
      const position = JSON.stringify([checkpoint?.cursor, checkpoint?.offset]);
      if (this.last.get(key) === position) continue;
      this.last.set(key, position);
      const l = this.ledger(c.instance, stream);
      if (l.undelivered.size === 0 || checkpoint?.cursor === undefined) continue;
      const rest = new Set(await c.replayFrom(stream, checkpoint.cursor, checkpoint.offset));
      let behind = 0;
      for (const id of l.undelivered) if (!rest.has(id)) behind += 1;
      if (behind > 0) {
        this.problems.push(
          `${label}: ${key} checkpoint ${JSON.stringify(checkpoint.cursor)}+${checkpoint.offset} is past ${behind} undelivered record(s)`,
        );
      }
    }
  }
}

/** Operator failures only where an operator fault was injected; every stream that stopped shows it. */
function checkVisible(
  c: Collector,
  record: TickRecord,
  armed: Armed | undefined,
  label: string,
  problems: string[],
) {
  const operator = armed?.operator === true && (armed.collector === undefined || armed.collector === c);
  if (record.operatorFailure !== undefined && !operator) {
    problems.push(
      `${label}: ${c.instance} invocation failed without an operator fault: ${record.operatorFailure.message}`,
    );
  }
  for (const result of record.result.streams) {
    const health = streamHealth(record, result.stream);
    const lines = record.logs.filter((l) => l.stream === result.stream);
    if (result.outcome === 'failed' && !(result.error instanceof CrashError)) {
      const remedy = result.error instanceof CollectorError ? result.error.remedy : undefined;
      const shown =
        health.healthy === 0 &&
        lines.some(
          (l) => l.level === 'ERROR' && (remedy === undefined || JSON.stringify(l).includes(remedy)),
        );
      if (!shown)
        problems.push(`${label}: ${c.instance}/${result.stream} failed without a health line and a log line`);
    }
    if (result.outcome === 'throttled') {
      const shown =
        (health.throttledCalls ?? 0) > 0 && lines.some((l) => l.message.startsWith('stream throttled'));
      if (!shown)
        problems.push(
          `${label}: ${c.instance}/${result.stream} throttled without a health line and a log line`,
        );
    }
  }
}

/** Ids of every acknowledged ingestion request, per instance/stream (one pass over the receiver's log). */
function acknowledgedBatchesByStream(world: World): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  for (const request of world.receiver.ingestRequests()) {
    if (request.status === undefined || request.status < 200 || request.status >= 300) continue;
    const here = new Map<string, string[]>();
    for (const line of request.body.split('\n')) {
      if (line.trim() === '') continue;
      const e = JSON.parse(line) as Envelope;
      const key = `${e.instance}/${e.stream}`;
      const ids = here.get(key) ?? [];
      ids.push(e.id);
      here.set(key, ids);
    }
    for (const [key, ids] of here) {
      const list = out.get(key) ?? [];
      list.push(ids);
      out.set(key, list);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The schedule

type Maker = (world: World, collectors: Collector[], random: SeededRandom) => Armed;

function simFault(world: World, rule: FaultRule, name: string, operator = false): Armed {
  world.sim.inject(rule);
  return { name, operator, fired: () => 0 };
}

function rxFault(world: World, faults: ReceiverFault[], name: string, operator = false): Armed {
  const before = world.receiver.ingestRequests().filter((r) => r.fault !== undefined).length;
  world.receiver.inject(...faults);
  return {
    name,
    operator,
    fired: () => world.receiver.ingestRequests().filter((r) => r.fault !== undefined).length - before,
  };
}

const MAKERS: Array<[weight: number, make: Maker]> = [
  [
    6,
    (world, cs, r) => {
      const c = r.pick(cs);
      const stream = r.pick(c.streams);
      const hint = r.pick(['reset-ms', 'retry-after', 'none'] as const);
      const waitMs = r.pick([500, 1500, 20_000, 90_000]);
      return simFault(
        world,
        {
          path: callPath(stream, c.api),
          api: c.api,
          nth: r.int(1, 3),
          fault: { kind: 'throttle', hint, waitMs },
        },
        `429 ${hint} ${waitMs} ms on ${c.instance}/${stream}`,
      );
    },
  ],
  [
    6,
    (world, cs, r) => {
      const c = r.pick(cs);
      const stream = r.pick(c.streams);
      const status = r.pick([500, 502, 503]);
      const times = r.int(1, 6);
      return simFault(
        world,
        {
          path: callPath(stream, c.api),
          api: c.api,
          after: r.int(0, 2),
          times,
          fault: { kind: 'status', status },
        },
        `${times}× ${status} on ${c.instance}/${stream}`,
      );
    },
  ],
  [
    5,
    (world, cs, r) => {
      const c = r.pick(cs);
      const stream = r.pick(c.streams);
      const kind = r.pick(['truncate', 'reset', 'malformed-json'] as const);
      const fault = kind === 'malformed-json' ? { kind } : { kind, keepFraction: r.pick([0.2, 0.5, 0.9]) };
      const path = kind === 'malformed-json' ? callPath(stream, c.api) : bodyPath(stream, c.api);
      return simFault(
        world,
        {
          path,
          ...(stream === 'siem' && c.api === 2 && kind !== 'malformed-json' ? {} : { api: c.api }),
          after: r.int(0, 3),
          times: r.int(1, 5),
          fault,
        },
        `${kind} on ${c.instance}/${stream}`,
      );
    },
  ],
  [
    3,
    (world, cs, r) => {
      const c = r.pick(cs);
      const stream = r.pick(c.streams.filter((s) => s !== 'siem' || c.api === 1));
      const retryable = r.chance(0.6);
      return simFault(
        world,
        {
          path: callPath(stream, c.api),
          api: c.api,
          after: r.int(0, 2),
          times: retryable ? r.int(1, 5) : Number.POSITIVE_INFINITY,
          fault: {
            kind: 'fail-200',
            code: retryable ? 'err_server_busy' : 'err_validation_invalid_request',
            retryable,
          },
        },
        `fail[] ${retryable ? 'retryable' : 'fatal'} on ${c.instance}/${stream}`,
        !retryable,
      );
    },
  ],
  [
    2,
    (world, _cs, r) =>
      simFault(
        world,
        {
          path: /^\/mimecast-siem-cg\//,
          after: r.int(0, 3),
          times: r.int(1, 5),
          fault: { kind: 'expire-batch-url' },
        },
        'expired batch-file URLs',
      ),
  ],
  [
    2,
    (world, _cs, r) => {
      const refused = r.chance(0.3);
      world.sim.revokeV2Tokens();
      return simFault(
        world,
        {
          path: '/oauth/token',
          times: refused ? Number.POSITIVE_INFINITY : r.int(1, 5),
          fault: { kind: 'status', status: refused ? 401 : 503 },
        },
        refused ? 'token endpoint refuses the credentials' : 'token endpoint unavailable',
        refused,
      );
    },
  ],
  [
    6,
    (world, _cs, r) => {
      const kind = r.pick(['429', '500', '503', 'reset', 'hang', 'slow-ack', '400', '413'] as const);
      const count = r.int(1, 4);
      const one = (): ReceiverFault =>
        kind === 'reset'
          ? { kind: 'reset' }
          : kind === 'hang'
            ? { kind: 'hang' }
            : kind === 'slow-ack'
              ? { kind: 'delay', ms: 1200 }
              : { kind: 'status', status: Number(kind), ...(kind === '429' ? { retryAfter: 0 } : {}) };
      const operator = kind === '400' || kind === '413';
      return rxFault(world, Array.from({ length: operator ? 1 : count }, one), `receiver ${kind}`, operator);
    },
  ],
  [4, (world, cs, r) => crash(world, r.pick(cs), r)],
  [2, (world, cs, r) => conflict(world, r.pick(cs), r)],
  [2, (world, cs, r) => budget(world, r.pick(cs), r)],
];

function arm(world: World, collectors: Collector[], random: SeededRandom): Armed {
  const total = MAKERS.reduce((sum, [w]) => sum + w, 0);
  let pick = random.next() * total;
  for (const [weight, make] of MAKERS) {
    pick -= weight;
    if (pick < 0) return make(world, collectors, random);
  }
  return MAKERS[0]![1](world, collectors, random);
}

/** A crash at the nth batch (or commit) of the collector's tick, whichever stream it belongs to. */
function crash(_world: World, c: Collector, r: SeededRandom): Armed {
  const process = new Process();
  const at = r.int(1, 4);
  const point = r.pick(['before-send', 'after-ack', 'after-commit'] as const);
  let steps = 0;
  const hook = (batch: readonly Envelope[]) => {
    steps += 1;
    if (steps === at) throw process.crash(`${point} of ${batch[0]?.stream} batch (step ${at})`);
  };
  const wrapSink = (sink: Sink) =>
    processSink(
      sink,
      process,
      point === 'before-send' ? { before: hook } : point === 'after-ack' ? { after: hook } : {},
    );
  const wrapStore = (store: CheckpointStore) =>
    new ProcessStore(store, process, undefined, (key, update) => {
      if (point !== 'after-commit' || update.succeededAt === undefined) return;
      steps += 1;
      if (steps === at) throw process.crash(`after a commit of ${key.stream} (step ${at})`);
    });
  return {
    name: `crash ${point} #${at} ${c.instance}`,
    operator: false,
    collector: c,
    options: { signal: process.signal, wrapSink, wrapStore, owner: `${c.instance}-crashing` },
    fired: () => (process.crashedAt === undefined ? 0 : 1),
  };
}

/** Before the nth progress commit of the collector's tick, another run takes that stream's lease. */
function conflict(world: World, c: Collector, r: SeededRandom): Armed {
  const at = r.int(1, 4);
  let commits = 0;
  let fired = 0;
  const wrapStore = (inner: CheckpointStore) =>
    new (class extends StoreProxy {
      override async commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate) {
        if (update.succeededAt !== undefined) {
          commits += 1;
          if (commits === at) {
            fired += 1;
            const now = world.clock.now();
            await inner.acquireLease(key, { owner: 'intruder', expiresAt: now + 1000 }, now + 3_600_000);
          }
        }
        return super.commitProgress(key, token, update);
      }
    })(inner);
  return {
    name: `conflict #${at} ${c.instance}`,
    operator: false,
    collector: c,
    options: { wrapStore },
    fired: () => fired,
  };
}

function budget(world: World, c: Collector, r: SeededRandom): Armed {
  const at = r.int(1, 4);
  let sends = 0;
  let fired = 0;
  const wrapSink = (sink: Sink) =>
    processSink(sink, new Process(), {
      after: () => {
        sends += 1;
        if (sends !== at) return;
        fired += 1;
        world.clock.advance(TICK_BUDGET_MS - SAFETY_MS);
      },
    });
  return {
    name: `time budget out ${c.instance}`,
    operator: false,
    collector: c,
    options: { wrapSink },
    fired: () => fired,
  };
}
