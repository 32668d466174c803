/** The engine with fake sources, a recording sink and the in-memory store. */
import type { Checkpoint, CheckpointKey, LeaseToken, ProgressUpdate } from '../../lambda/core/checkpoint';
import { runTick, type TickInput } from '../../lambda/core/engine';
import { DEFAULT_LIMITS, type EngineLimits, resolveLimits } from '../../lambda/core/limits';
import type { StreamSource } from '../../lambda/core/ports';
import type { StreamResult } from '../../lambda/core/results';
import type { StreamId } from '../../lambda/core/streams';
import {
  CheckpointConflictError,
  ConfigError,
  PagingStalledError,
  SinkRejectedError,
  TransientError,
} from '../../lambda/errors';
import { FakeClock, T0 } from '../kit/clock';
import { RecordingLog } from '../kit/log';
import { idOf, makeRecords, PagedSource, RecordingSink, throttled, transient } from './support/fakes';
import { MemoryCheckpointStore } from './support/memory-checkpoint-store';

const INSTANCE = 'acme';

interface Harness {
  clock: FakeClock;
  store: MemoryCheckpointStore;
  sink: RecordingSink;
  log: RecordingLog;
  sleeps: number[];
}

function harness(): Harness {
  return {
    clock: new FakeClock(),
    store: new MemoryCheckpointStore(),
    sink: new RecordingSink(),
    log: new RecordingLog(),
    sleeps: [],
  };
}

let owners = 0;

function tick(
  h: Harness,
  sources: StreamSource[],
  limits: Partial<EngineLimits> = {},
  extra: Partial<TickInput> = {},
) {
  owners += 1;
  return runTick({
    instance: INSTANCE,
    owner: `run-${owners}`,
    sources,
    store: h.store,
    sink: h.sink,
    log: h.log,
    clock: h.clock,
    deadline: h.clock.now() + 60_000,
    limits: { batchMaxEvents: 3, ...limits },
    // Waiting advances the fake clock instead of real time.
    sleep: async (ms) => {
      h.sleeps.push(ms);
      h.clock.advance(ms);
    },
    ...extra,
  });
}

const key = (stream: StreamId): CheckpointKey => ({ instance: INSTANCE, stream });

function only(results: StreamResult[], stream: StreamId): StreamResult {
  const found = results.find((r) => r.stream === stream);
  if (found === undefined) throw new Error(`no result for ${stream}`);
  return found;
}

function pagesOf(stream: StreamId, sizes: number[]) {
  let seq = 0;
  return sizes.map((size) => {
    const page = makeRecords(stream, size, seq);
    seq += size;
    return page;
  });
}

describe('runTick: a fresh stream', () => {
  it('seeds at the collection start, delivers every page in batches, commits and releases', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [4, 0, 5]));
    const start = new Date(T0 - 86_400_000);
    const result = await tick(h, [source], {}, { collectionStart: start });

    expect(source.seeds).toEqual([{ start, now: new Date(T0) }]);
    const all = source.pages.flat().map((r) => idOf(r));
    expect(h.sink.ids()).toEqual(all);
    // Batches of at most 3, crossing page boundaries.
    expect(h.sink.batches.map((b) => b.length)).toEqual([3, 3, 3]);
    const audit = only(result.streams, 'audit');
    expect(audit).toMatchObject({
      outcome: 'caught-up',
      events: 9,
      pages: 3,
      throttledCalls: 0,
      sinkErrors: 0,
    });
    expect(audit.bytes).toBe(h.sink.delivered.reduce((n, e) => n + h.sink.sizeOf(e), 0));
    expect(audit.newestEventTime).toBe(source.pages[2]![4]!.time);
    expect(audit.lagSeconds).toBe(Math.round((T0 - Date.parse(audit.newestEventTime!)) / 1000));

    const stored = h.store.peek(key('audit'))!;
    expect(stored).toMatchObject({
      cursor: { page: 3 },
      offset: 0,
      totals: { events: 9, pages: 3, bytes: audit.bytes },
      consecutiveFailures: 0,
      newestEventTime: audit.newestEventTime,
    });
    expect(stored.lease).toBeUndefined();
    // Every envelope carries the contract fields.
    expect(h.sink.delivered[0]).toEqual({
      id: all[0],
      stream: 'audit',
      logType: 'receipt',
      time: source.pages[0]![0]!.time,
      instance: INSTANCE,
      event: source.pages[0]![0]!.event,
    });
  });

  it('never seeds later than now, and seeds at now without a collection start', async () => {
    const h = harness();
    const future = new PagedSource('dlp', []);
    const plain = new PagedSource('siem', []);
    await tick(h, [future], {}, { collectionStart: new Date(T0 + 3_600_000) });
    await tick(h, [plain]);
    expect(future.seeds[0]!.start.getTime()).toBe(T0);
    expect(plain.seeds[0]!.start.getTime()).toBe(T0);
  });

  it('persists the seed before the first call, so a failed first call does not seed again later', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [2]));
    source.script = [{ call: 1, error: transient() }];
    const first = await tick(h, [source]);
    expect(only(first.streams, 'audit').outcome).toBe('failed');
    expect(h.store.peek(key('audit'))?.cursor).toEqual({ page: 0 });
    h.clock.advance(300_000);
    await tick(h, [source], {}, { collectionStart: new Date(T0 + 100_000) });
    expect(source.seeds).toHaveLength(1);
    expect(h.sink.ids()).toHaveLength(2);
  });
});

describe('runTick: existing checkpoints', () => {
  it('never rewinds an existing checkpoint to the collection start', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [2, 2]));
    await tick(h, [source]);
    source.pages.push(makeRecords('audit', 2, 100));
    h.clock.advance(300_000);
    await tick(h, [source], {}, { collectionStart: new Date(0) });
    expect(source.seeds).toHaveLength(1);
    expect(h.sink.ids()).toHaveLength(6);
    expect(new Set(h.sink.ids()).size).toBe(6);
  });

  it('costs one call per tick when caught up, and picks up late data next tick', async () => {
    const h = harness();
    const source = new PagedSource('siem', pagesOf('siem', [2]));
    await tick(h, [source]);
    const callsBefore = source.fetches.length;
    h.clock.advance(300_000);
    const idle = await tick(h, [source]);
    expect(source.fetches.length - callsBefore).toBe(1);
    expect(only(idle.streams, 'siem')).toMatchObject({ outcome: 'caught-up', events: 0 });

    // Late data: a new page whose records are older than what was delivered.
    const newestBefore = h.store.peek(key('siem'))!.newestEventTime;
    source.pages.push(makeRecords('siem', 2, 500, T0 - 86_400_000));
    h.clock.advance(300_000);
    const late = await tick(h, [source]);
    expect(only(late.streams, 'siem').events).toBe(2);
    expect(h.sink.ids()).toHaveLength(4);
    // The newest event time never goes back because of late records.
    expect(h.store.peek(key('siem'))!.newestEventTime).toBe(newestBefore);
  });
});

describe('runTick: failures', () => {
  it('resumes inside a page after a sink failure, without moving the checkpoint past the acknowledged batch', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [8]));
    h.sink.failOn.set(2, new SinkRejectedError('Receiver answered 400.', 'Fix the token.', { status: 400 }));
    const first = await tick(h, [source]);
    const audit = only(first.streams, 'audit');
    expect(audit).toMatchObject({ outcome: 'failed', events: 3, sinkErrors: 1, mimecastErrors: {} });
    expect(audit.error).toBeInstanceOf(SinkRejectedError);
    const stored = h.store.peek(key('audit'))!;
    expect(stored).toMatchObject({ cursor: { page: 0 }, offset: 3, consecutiveFailures: 1 });
    expect(stored.lastError).toMatchObject({ kind: 'sink-rejected', message: 'Receiver answered 400.' });
    expect(stored.lease).toBeUndefined();

    h.clock.advance(300_000);
    const second = await tick(h, [source]);
    expect(only(second.streams, 'audit')).toMatchObject({ outcome: 'caught-up', events: 5 });
    // The refetched page was entered at offset 3: nothing delivered twice, nothing missed.
    const all = source.pages.flat().map((r) => idOf(r));
    expect(h.sink.ids()).toEqual(all);
    expect(h.store.peek(key('audit'))).toMatchObject({
      cursor: { page: 1 },
      offset: 0,
      consecutiveFailures: 0,
    });
  });

  it('resumes inside a page with the cursor the source resolved, and stores open cursors only at page ends', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [8]));
    source.resolving = true;
    h.sink.failOn.set(2, new SinkRejectedError('Receiver answered 400.', 'Fix the token.', { status: 400 }));
    await tick(h, [source]);
    // The open cursor {page: 0} was resolved by fetch 1; the in-page position names that resolution.
    expect(source.fetches[0]!.cursor).toEqual({ page: 0 });
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 0, rev: 1 }, offset: 3 });

    h.clock.advance(300_000);
    const second = await tick(h, [source]);
    expect(only(second.streams, 'audit')).toMatchObject({ outcome: 'caught-up', events: 5 });
    // The resume re-asked the resolved question (same order), not the open cursor (which would rotate).
    expect(source.fetches[1]!.cursor).toEqual({ page: 0, rev: 1 });
    const asked = source.recordsAt({ page: 0, rev: 1 }).map((r) => idOf(r));
    expect(source.recordsAt({ page: 0, rev: 2 }).map((r) => idOf(r))).not.toEqual(asked);
    expect(h.sink.ids()).toEqual(asked);
    // Past the page the next cursor is open again; an idle tick then costs one call.
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 1 }, offset: 0 });
    expect(h.store.peek(key('audit'))!.cursor).toEqual({ page: 1 });
    const calls = source.fetches.length;
    h.clock.advance(300_000);
    await tick(h, [source]);
    expect(source.fetches.length - calls).toBe(1);
  });

  it('delivers what was fetched before a source failure, then records the failure', async () => {
    const h = harness();
    const source = new PagedSource('ttp-url', pagesOf('ttp-url', [2, 6]));
    source.script = [{ call: 2, afterRecords: 4, error: transient('ttp-url') }];
    const result = await tick(h, [source]);
    const stream = only(result.streams, 'ttp-url');
    expect(stream).toMatchObject({
      outcome: 'failed',
      events: 6,
      mimecastErrors: { transient: 1 },
      sinkErrors: 0,
    });
    expect(stream.error).toBeInstanceOf(TransientError);
    expect(h.store.peek(key('ttp-url'))).toMatchObject({
      cursor: { page: 1 },
      offset: 4,
      consecutiveFailures: 1,
      lastError: { kind: 'transient' },
    });
    expect(h.log.find('error', 'stream failed')[0]?.attributes).toMatchObject({
      stream: 'ttp-url',
      error: { kind: 'transient', message: 'Mimecast answered 503.' },
    });

    h.clock.advance(300_000);
    await tick(h, [source]);
    expect(h.sink.ids()).toEqual(source.pages.flat().map((r) => idOf(r)));
  });

  it('counts consecutive failures across ticks', async () => {
    const h = harness();
    const source = new PagedSource('dlp', pagesOf('dlp', [1]));
    source.script = [1, 2, 3].map((call) => ({ call, error: transient('dlp') }));
    for (let i = 0; i < 3; i += 1) {
      await tick(h, [source]);
      h.clock.advance(300_000);
    }
    expect(h.store.peek(key('dlp'))?.consecutiveFailures).toBe(3);
    await tick(h, [source]);
    expect(h.store.peek(key('dlp'))?.consecutiveFailures).toBe(0);
  });

  it('stops a stream whose lease was lost mid-tick, without overwriting the new holder', async () => {
    const h = harness();
    class TakenOver extends MemoryCheckpointStore {
      commits = 0;
      override async commitProgress(
        k: CheckpointKey,
        token: LeaseToken,
        update: ProgressUpdate,
      ): Promise<Checkpoint> {
        this.commits += 1;
        if (this.commits === 3) {
          // An operator force-resets the stream while the run is busy.
          await this.reset(k, { now: 0, force: true });
        }
        return super.commitProgress(k, token, update);
      }
    }
    h.store = new TakenOver();
    const source = new PagedSource('audit', pagesOf('audit', [9]));
    const result = await tick(h, [source]);
    const audit = only(result.streams, 'audit');
    expect(audit.outcome).toBe('failed');
    expect(audit.error).toBeInstanceOf(CheckpointConflictError);
    expect(h.store.peek(key('audit'))).toBeUndefined();
    expect(h.log.find('warn', 'lease lost')).toHaveLength(1);
    expect(
      h.store.writes.filter((w) => w.operation === 'recordFailure' || w.operation === 'releaseLease'),
    ).toEqual([]);
  });

  it('turns an unexpected store failure into that stream failing alone', async () => {
    const h = harness();
    class Flaky extends MemoryCheckpointStore {
      override async acquireLease(...args: Parameters<MemoryCheckpointStore['acquireLease']>) {
        if (args[0].stream === 'dlp') throw new TransientError('DynamoDB unreachable.', 'Retry.');
        return super.acquireLease(...args);
      }
    }
    h.store = new Flaky();
    const result = await tick(h, [
      new PagedSource('dlp', pagesOf('dlp', [2])),
      new PagedSource('siem', pagesOf('siem', [2])),
    ]);
    expect(only(result.streams, 'dlp')).toMatchObject({ outcome: 'failed', events: 0 });
    expect(only(result.streams, 'siem')).toMatchObject({ outcome: 'caught-up', events: 2 });
  });
});

describe('runTick: throttling', () => {
  it('on a long throttle keeps what was fetched, stores notBefore and waits for it', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [5, 5]));
    source.script = [{ call: 1, afterRecords: 4, error: throttled(60_000) }];
    const first = await tick(h, [source]);
    expect(only(first.streams, 'audit')).toMatchObject({
      outcome: 'throttled',
      throttledCalls: 1,
      events: 4,
    });
    expect(only(first.streams, 'audit').mimecastErrors).toEqual({});
    expect(h.store.peek(key('audit'))).toMatchObject({
      cursor: { page: 0 },
      offset: 4,
      notBefore: T0 + 60_000,
    });
    expect(h.sleeps).toEqual([]);

    h.clock.advance(30_000);
    const calls = source.fetches.length;
    const waiting = await tick(h, [source]);
    expect(only(waiting.streams, 'audit').outcome).toBe('waiting');
    expect(source.fetches.length).toBe(calls);

    h.clock.advance(31_000);
    const resumed = await tick(h, [source]);
    expect(only(resumed.streams, 'audit')).toMatchObject({ outcome: 'caught-up', events: 6 });
    expect(h.sink.ids()).toEqual(source.pages.flat().map((r) => idOf(r)));
    expect(h.store.peek(key('audit'))?.notBefore).toBeUndefined();
  });

  it('waits out a short throttle in place and carries on', async () => {
    const h = harness();
    const source = new PagedSource('siem', pagesOf('siem', [3, 3]));
    source.script = [{ call: 2, error: throttled(1500, 'siem') }];
    const result = await tick(h, [source]);
    expect(h.sleeps).toEqual([1500]);
    expect(only(result.streams, 'siem')).toMatchObject({
      outcome: 'caught-up',
      throttledCalls: 1,
      events: 6,
    });
    expect(h.store.peek(key('siem'))?.notBefore).toBeUndefined();
  });

  it('stops after the allowed in-place waits, and never waits past the time budget', async () => {
    const h = harness();
    const repeated = new PagedSource('siem', pagesOf('siem', [3]));
    repeated.script = [1, 2, 3].map((call) => ({ call, error: throttled(1000, 'siem') }));
    const result = await tick(h, [repeated], { throttleRetriesInPlace: 2 });
    expect(h.sleeps).toEqual([1000, 1000]);
    expect(only(result.streams, 'siem')).toMatchObject({ outcome: 'throttled', throttledCalls: 3 });

    const late = harness();
    const nearDeadline = new PagedSource('dlp', pagesOf('dlp', [3]));
    nearDeadline.script = [{ call: 1, error: throttled(1000, 'dlp') }];
    // 10.5 s left, 10 s margin: a 1 s wait does not fit.
    await tick(late, [nearDeadline], {}, { deadline: late.clock.now() + 10_500 });
    expect(late.sleeps).toEqual([]);
    expect(late.store.peek(key('dlp'))?.notBefore).toBe(T0 + 1000);
  });
});

describe('runTick: budgets', () => {
  it('stops at the time budget (deadline minus margin) and resumes next tick', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [2, 2, 2, 2, 2]));
    source.onFetch = () => h.clock.advance(20_000);
    // Large batches: pages are batched together and committed with the final flush.
    const first = await tick(h, [source], { batchMaxEvents: 100 });
    // Fetches start at 0 s, 20 s, 40 s; at 60 s - 10 s margin no more.
    expect(source.fetches).toHaveLength(3);
    expect(only(first.streams, 'audit')).toMatchObject({ outcome: 'budget-exhausted', pages: 3, events: 6 });
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 3 }, offset: 0 });
    expect(h.log.find('info', 'time budget')).toHaveLength(1);

    expect(h.sink.batches.map((b) => b.length)).toEqual([6]);

    const second = await tick(h, [source]);
    expect(only(second.streams, 'audit')).toMatchObject({ outcome: 'caught-up', events: 4 });
    expect(new Set(h.sink.ids()).size).toBe(10);
  });

  it('stops inside a long page when time runs out, committing the offset reached', async () => {
    const h = harness();
    const source = new PagedSource('siem', pagesOf('siem', [20]));
    source.onRecord = () => h.clock.advance(5_000);
    const result = await tick(h, [source]);
    const siem = only(result.streams, 'siem');
    expect(siem.outcome).toBe('budget-exhausted');
    const stored = h.store.peek(key('siem'))!;
    expect(stored.cursor).toEqual({ page: 0 });
    expect(stored.offset).toBe(siem.events);
    expect(siem.events).toBeGreaterThan(0);
    expect(siem.events).toBeLessThan(20);

    source.onRecord = undefined;
    await tick(h, [source]);
    expect(h.sink.ids()).toEqual(source.pages[0]!.map((r) => idOf(r)));
  });

  it('stops at the page budget', async () => {
    const h = harness();
    const source = new PagedSource('dlp', pagesOf('dlp', [1, 1, 1, 1, 1]));
    const result = await tick(h, [source], { maxPagesPerStream: 2 });
    expect(source.fetches).toHaveLength(2);
    expect(only(result.streams, 'dlp')).toMatchObject({ outcome: 'budget-exhausted', pages: 2, events: 2 });
    expect(h.store.peek(key('dlp'))).toMatchObject({ cursor: { page: 2 }, offset: 0 });
  });

  it('hands sources and the sink call budgets inside the deadline', async () => {
    const h = harness();
    const source = new PagedSource('audit', pagesOf('audit', [2]));
    const deadline = T0 + 100_000;
    await tick(h, [source], { safetyMarginMs: 20_000 }, { deadline });
    expect(source.fetches[0]!.budget.deadline).toBe(deadline - 20_000);
    expect(h.sink.budgets[0]!.deadline).toBe(deadline - 10_000);
    expect(source.fetches[0]!.budget.signal.aborted).toBe(false);
  });

  it('stops every stream when the caller aborts', async () => {
    const h = harness();
    const controller = new AbortController();
    const source = new PagedSource('audit', pagesOf('audit', [1, 1, 1, 1]));
    source.onFetch = (_page, call) => {
      if (call === 2) controller.abort();
    };
    const result = await tick(h, [source], {}, { signal: controller.signal });
    expect(only(result.streams, 'audit').outcome).toBe('budget-exhausted');
    expect(source.fetches).toHaveLength(2);
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 2 }, offset: 0 });
  });
});

describe('runTick: isolation and concurrency', () => {
  it('keeps failing, throttled and slow streams from affecting the others', async () => {
    const h = harness();
    const failing = new PagedSource('dlp', pagesOf('dlp', [2]));
    failing.script = [{ call: 1, error: new TypeError('decoder bug') }];
    const limited = new PagedSource('ttp-url', pagesOf('ttp-url', [2]));
    limited.script = [{ call: 1, error: throttled(600_000, 'ttp-url') }];
    let release!: () => void;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    const slow = new PagedSource('siem', pagesOf('siem', [2]));
    slow.onFetch = () => gate;
    const healthy = new PagedSource('audit', pagesOf('audit', [4, 4]));

    const running = tick(h, [failing, limited, slow, healthy]);
    // The healthy stream completes while the slow one is still stuck in its first call.
    const auditDone = () => {
      const stored = h.store.peek(key('audit'));
      return stored !== undefined && stored.lease === undefined;
    };
    for (let i = 0; i < 500 && !auditDone(); i += 1) {
      await new Promise((done) => setImmediate(done));
    }
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 2 }, offset: 0 });
    expect(h.store.peek(key('audit'))?.lease).toBeUndefined();
    expect(h.store.peek(key('siem'))?.lease).toBeDefined();
    release();
    const result = await running;

    expect(only(result.streams, 'dlp')).toMatchObject({ outcome: 'failed', mimecastErrors: { protocol: 1 } });
    expect(only(result.streams, 'ttp-url')).toMatchObject({ outcome: 'throttled', throttledCalls: 1 });
    expect(only(result.streams, 'siem')).toMatchObject({ outcome: 'caught-up', events: 2 });
    expect(only(result.streams, 'audit')).toMatchObject({ outcome: 'caught-up', events: 8 });
    expect(result.streams.map((s) => s.stream)).toEqual(['dlp', 'ttp-url', 'siem', 'audit']);
  });

  it('runs at most `concurrency` streams at once', async () => {
    const h = harness();
    let active = 0;
    let peak = 0;
    const streams: StreamId[] = ['audit', 'siem', 'dlp', 'ttp-url', 'held-release'];
    const sources = streams.map((stream) => {
      const source = new PagedSource(stream, pagesOf(stream, [1, 1]));
      source.onFetch = async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((done) => setTimeout(done, 2));
        active -= 1;
      };
      return source;
    });
    const result = await tick(h, sources, { concurrency: 2 });
    expect(peak).toBe(2);
    expect(result.streams.every((s) => s.outcome === 'caught-up')).toBe(true);
  });

  it('skips a stream whose lease another run holds, and logs it', async () => {
    const h = harness();
    await h.store.acquireLease(key('siem'), { owner: 'other-run', expiresAt: T0 + 600_000 }, T0);
    const held = new PagedSource('siem', pagesOf('siem', [2]));
    const free = new PagedSource('audit', pagesOf('audit', [2]));
    const result = await tick(h, [held, free]);
    expect(only(result.streams, 'siem').outcome).toBe('lease-held');
    expect(held.fetches).toHaveLength(0);
    expect(only(result.streams, 'audit').outcome).toBe('caught-up');
    expect(h.log.find('info', 'another run holds its lease')[0]?.attributes).toEqual({
      instance: INSTANCE,
      stream: 'siem',
    });
    expect(h.store.peek(key('siem'))?.lease?.owner).toBe('other-run');
  });

  it('holds the lease at least until the deadline', async () => {
    const h = harness();
    let lease: Checkpoint['lease'];
    const source = new PagedSource('audit', pagesOf('audit', [1]));
    source.onFetch = () => {
      lease = h.store.peek(key('audit'))?.lease;
    };
    await tick(h, [source], { leaseMs: 1000 }, { deadline: T0 + 120_000 });
    expect(lease?.expiresAt).toBe(T0 + 120_000);
    await tick(h, [source], {}, { deadline: T0 + 120_000 });
    expect(lease?.expiresAt).toBe(T0 + DEFAULT_LIMITS.leaseMs);
  });
});

describe('runTick: batching and repeats', () => {
  it('drops exact repeats within a tick but still moves past them', async () => {
    const h = harness();
    const [a, b, c] = makeRecords('audit', 3);
    // A boundary repeat across pages and a repeat inside one page.
    const source = new PagedSource('audit', [
      [a!, b!],
      [b!, c!, c!],
    ]);
    const result = await tick(h, [source]);
    expect(h.sink.ids()).toEqual([a!, b!, c!].map((r) => idOf(r)));
    expect(only(result.streams, 'audit').events).toBe(3);
    expect(h.store.peek(key('audit'))).toMatchObject({ cursor: { page: 2 }, offset: 0 });
    expect(h.log.find('info', 'stream tick finished')[0]?.attributes).toMatchObject({ duplicatesDropped: 2 });
  });

  it('bounds batches by bytes as the sink measures them; an oversized event goes alone', async () => {
    const h = harness();
    const records = makeRecords('siem', 6);
    records[3] = { ...records[3]!, event: { seq: 3, blob: 'x'.repeat(2000) } };
    const source = new PagedSource('siem', [records]);
    const limit =
      3 *
      h.sink.sizeOf({
        id: 'x'.repeat(32),
        stream: 'siem',
        logType: 'receipt',
        time: records[0]!.time,
        instance: INSTANCE,
        event: records[0]!.event,
      });
    await tick(h, [source], { batchMaxEvents: 100, batchMaxBytes: limit });
    for (const batch of h.sink.batches) {
      const bytes = batch.reduce((n, e) => n + h.sink.sizeOf(e), 0);
      expect(bytes <= limit || batch.length === 1).toBe(true);
    }
    expect(h.sink.batches.some((batch) => batch.length === 1 && batch[0]!.event !== records[0]!.event)).toBe(
      true,
    );
    expect(h.sink.ids()).toEqual(records.map((r) => idOf(r)));
  });
});

describe('runTick: a page served again', () => {
  it('stops the stream on a page identical to the one before, before that page, and counts it', async () => {
    const h = harness();
    const first = makeRecords('audit', 4);
    const second = makeRecords('audit', 4, 4);
    // Page 2 is page 1 again under another cursor; page 3 would be new.
    const source = new PagedSource('audit', [first, second, second, makeRecords('audit', 2, 8)]);
    const [result] = (await tick(h, [source])).streams;
    expect(result).toMatchObject({ outcome: 'failed', mimecastErrors: { protocol: 1 }, events: 8 });
    expect(result!.error).toBeInstanceOf(PagingStalledError);
    expect((result!.error as PagingStalledError).message).toMatch(/same 4 records, in the same order/);
    expect(source.fetches).toHaveLength(3);
    expect(h.sink.ids()).toEqual([...first, ...second].map((r) => idOf(r)));
    // The checkpoint stays before the repeated page: the next run asks for it again.
    expect(h.store.peek(key('audit'))).toMatchObject({
      cursor: { page: 2 },
      offset: 0,
      consecutiveFailures: 1,
    });
  });

  it('looks past an empty page, and tells the same records in another order apart', async () => {
    const h = harness();
    const page = makeRecords('audit', 3);
    const empty = new PagedSource('audit', [page, [], page]);
    expect((await tick(h, [empty])).streams[0]!.error).toBeInstanceOf(PagingStalledError);
    const reordered = new PagedSource('dlp', [makeRecords('dlp', 3), makeRecords('dlp', 3).reverse()]);
    expect((await tick(h, [reordered])).streams).toMatchObject([{ outcome: 'caught-up', events: 3 }]);
  });
});

describe('runTick: input validation', () => {
  it('rejects duplicate streams and bad limits before any work, listing every problem', async () => {
    const h = harness();
    const twice = [new PagedSource('audit', []), new PagedSource('audit', [])];
    await expect(tick(h, twice)).rejects.toThrow(/stream "audit" appears twice/);
    expect(() => resolveLimits({ batchMaxEvents: 0, concurrency: 1.5, throttleRetriesInPlace: 0 })).toThrow(
      ConfigError,
    );
    try {
      resolveLimits({ batchMaxEvents: 0, concurrency: 1.5 });
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.field)).toEqual(['batchMaxEvents', 'concurrency']);
    }
    expect(h.store.writes).toEqual([]);
    expect(resolveLimits({ throttleRetriesInPlace: 0 }).throttleRetriesInPlace).toBe(0);
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });
});
