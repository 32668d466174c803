/**
 * Crash safety, property-based: random page layouts, batch sizes, page budgets, source faults and
 * process crashes at random points (before or after a fetch, a record, a send or a checkpoint write).
 * A crash kills the whole tick: from that moment no call has any effect, leases stay taken. A fresh
 * tick (new owner, later clock) then runs on the same store, until one tick ends cleanly caught up.
 *
 * Properties: nothing lost (every source id delivered), duplicates at most one batch per stream per
 * crash (none without crashes), and no committed position ever ahead of what the sink acknowledged.
 * Some streams resolve open cursors at fetch time (`PagedSource.resolving`: each resolution orders a
 * page differently), so an in-page position stored with anything but the resolved cursor loses records.
 */
import fc from 'fast-check';
import type {
  Checkpoint,
  CheckpointKey,
  CheckpointStore,
  FailureUpdate,
  Lease,
  LeaseToken,
  ProgressUpdate,
  ResetOptions,
} from '../../lambda/core/checkpoint';
import { runTick } from '../../lambda/core/engine';
import type { Envelope } from '../../lambda/core/envelope';
import type { CallBudget, Sink, SinkResult, SourceRecord } from '../../lambda/core/ports';
import type { StreamId } from '../../lambda/core/streams';
import { FakeClock } from '../kit/clock';
import { RecordingLog } from '../kit/log';
import { idOf, makeRecords, PagedSource, throttled, transient } from './support/fakes';
import { MemoryCheckpointStore } from './support/memory-checkpoint-store';

class Crash extends Error {
  constructor() {
    super('simulated process crash');
  }
}

interface CrashPlan {
  /** The n-th I/O step of the tick (1-based) where the process dies. */
  at: number;
  /** Die after the step took effect (a write applied, a batch received) rather than before. */
  after: boolean;
}

/** One process lifetime: counts I/O steps and kills everything at the planned one. */
class Process {
  private steps = 0;
  dead = false;
  constructor(private readonly plan: CrashPlan | undefined) {}

  /** A crash point with no effect of its own (a fetch, a record read). */
  point(): void {
    if (this.dead) throw new Crash();
    this.steps += 1;
    if (this.plan !== undefined && this.steps === this.plan.at) {
      this.dead = true;
      throw new Crash();
    }
  }

  /** An effectful step: never runs once dead; may die before or after taking effect. */
  async effect<T>(run: () => Promise<T>): Promise<T> {
    if (this.dead) throw new Crash();
    this.steps += 1;
    const here = this.plan !== undefined && this.steps === this.plan.at;
    if (here && !this.plan!.after) {
      this.dead = true;
      throw new Crash();
    }
    const value = await run();
    if (here || this.dead) {
      this.dead = true;
      throw new Crash();
    }
    return value;
  }
}

/** The store as seen by one process; checks every applied commit against what was acknowledged. */
class ProcessStore implements CheckpointStore {
  constructor(
    private readonly inner: MemoryCheckpointStore,
    private readonly process: Process,
    private readonly onCommitted: (key: CheckpointKey, update: ProgressUpdate) => void,
  ) {}
  acquireLease(key: CheckpointKey, lease: Lease, now: number) {
    return this.process.effect(() => this.inner.acquireLease(key, lease, now));
  }
  load(key: CheckpointKey) {
    return this.process.effect(() => this.inner.load(key));
  }
  commitProgress(key: CheckpointKey, token: LeaseToken, update: ProgressUpdate) {
    return this.process.effect(async () => {
      const written = await this.inner.commitProgress(key, token, update);
      this.onCommitted(key, update);
      return written;
    });
  }
  recordFailure(key: CheckpointKey, token: LeaseToken, update: FailureUpdate) {
    return this.process.effect(() => this.inner.recordFailure(key, token, update));
  }
  releaseLease(key: CheckpointKey, token: LeaseToken, now: number) {
    return this.process.effect(() => this.inner.releaseLease(key, token, now));
  }
  list(instance: string) {
    return this.process.effect(() => this.inner.list(instance));
  }
  reset(key: CheckpointKey, options: ResetOptions): Promise<Checkpoint | undefined> {
    return this.process.effect(() => this.inner.reset(key, options));
  }
}

/** The receiver keeps everything it got; `acknowledged` is only what the engine was told succeeded. */
class Receiver {
  readonly received: Envelope[] = [];
  readonly acknowledged = new Set<string>();
}

class ProcessSink implements Sink {
  constructor(
    private readonly receiver: Receiver,
    private readonly process: Process,
  ) {}
  sizeOf(envelope: Envelope): number {
    return Buffer.byteLength(JSON.stringify(envelope)) + 1;
  }
  async send(batch: readonly Envelope[], _budget: CallBudget): Promise<SinkResult> {
    await this.process.effect(async () => {
      await new Promise((done) => setImmediate(done));
      this.receiver.received.push(...batch);
    });
    for (const envelope of batch) this.receiver.acknowledged.add(envelope.id);
    return { bytes: batch.reduce((n, e) => n + this.sizeOf(e), 0) };
  }
}

const STREAMS: StreamId[] = ['audit', 'siem', 'dlp'];

const scenario = fc.record({
  layouts: fc.array(fc.array(fc.nat({ max: 6 }), { maxLength: 5 }), { minLength: 1, maxLength: 3 }),
  /** Per stream: resolves open cursors (see PagedSource.resolving). */
  resolving: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  batchMaxEvents: fc.integer({ min: 1, max: 4 }),
  maxPagesPerStream: fc.integer({ min: 1, max: 4 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  crashes: fc.array(fc.option(fc.record({ at: fc.integer({ min: 1, max: 40 }), after: fc.boolean() })), {
    maxLength: 4,
  }),
  faults: fc.array(
    fc.record({
      call: fc.integer({ min: 1, max: 8 }),
      afterRecords: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
      kind: fc.constantFrom('transient' as const, 'short-throttle' as const, 'long-throttle' as const),
    }),
    { maxLength: 3 },
  ),
});

describe('runTick crash safety (property-based)', () => {
  it('loses nothing, repeats at most one batch per stream per crash, never commits ahead of acknowledgement', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const clock = new FakeClock();
        const memory = new MemoryCheckpointStore();
        const receiver = new Receiver();
        const violations: string[] = [];
        const sources = s.layouts.map((sizes, index) => {
          const stream = STREAMS[index]!;
          let seq = 0;
          const pages: SourceRecord[][] = sizes.map((size) => {
            const page = makeRecords(stream, size, seq);
            seq += size;
            return page;
          });
          const source = new PagedSource(stream, pages);
          source.resolving = s.resolving[index] ?? false;
          // Faults on the first stream only, by its fetch call number (they happen once each).
          if (index === 0) {
            source.script = s.faults.map((fault) => ({
              call: fault.call,
              ...(fault.afterRecords === undefined ? {} : { afterRecords: fault.afterRecords }),
              error:
                fault.kind === 'transient'
                  ? transient(stream)
                  : throttled(fault.kind === 'short-throttle' ? 1000 : 120_000, stream),
            }));
          }
          return source;
        });

        // Position (page p, offset o) covers pages < p and the first o records of page p.
        const checkCommit = (key: CheckpointKey, update: ProgressUpdate) => {
          const source = sources.find((x) => x.stream === key.stream)!;
          const page = update.cursor.page as number;
          if (source.resolving && update.offset > 0 && typeof update.cursor.rev !== 'number') {
            violations.push(`${key.stream} stored an open cursor with offset ${update.offset}`);
          }
          const covered = [
            ...source.pages.slice(0, page).flat(),
            ...source.recordsAt(update.cursor).slice(0, update.offset),
          ];
          for (const record of covered) {
            if (!receiver.acknowledged.has(idOf(record))) {
              violations.push(
                `${key.stream} committed page ${page} offset ${update.offset} ahead of acknowledgement`,
              );
              return;
            }
          }
        };

        let crashed = 0;
        let finished = false;
        for (let tickNumber = 0; tickNumber < 60 && !finished; tickNumber += 1) {
          // Later than any lease (15 min) or notBefore (2 min) a crashed or throttled tick left behind.
          clock.advance(3_600_000);
          const process = new Process(s.crashes[tickNumber] ?? undefined);
          for (const source of sources) {
            source.onFetch = () => process.point();
            source.onRecord = () => process.point();
          }
          const result = await runTick({
            instance: 'prop',
            owner: `tick-${tickNumber}`,
            sources,
            store: new ProcessStore(memory, process, checkCommit),
            sink: new ProcessSink(receiver, process),
            log: new RecordingLog(),
            clock,
            deadline: clock.now() + 60_000,
            limits: {
              batchMaxEvents: s.batchMaxEvents,
              maxPagesPerStream: s.maxPagesPerStream,
              concurrency: s.concurrency,
            },
            sleep: async (ms) => clock.advance(ms),
          });
          if (process.dead) crashed += 1;
          else finished = result.streams.every((r) => r.outcome === 'caught-up');
        }

        expect(violations).toEqual([]);
        expect(finished).toBe(true);
        const received = receiver.received.map((e) => e.id);
        const distinct = new Set(received);
        for (const source of sources) {
          for (const record of source.pages.flat()) {
            expect(distinct.has(idOf(record))).toBe(true);
          }
        }
        const duplicates = received.length - distinct.size;
        expect(duplicates).toBeLessThanOrEqual(crashed * sources.length * s.batchMaxEvents);
        if (crashed === 0) expect(duplicates).toBe(0);
        for (const source of sources) {
          const stored = memory.peek({ instance: 'prop', stream: source.stream })!;
          expect(stored.cursor).toEqual({ page: source.pages.length });
          expect(stored.offset).toBe(0);
          expect(stored.lease).toBeUndefined();
          const total = source.pages.flat().length;
          expect(stored.totals.events).toBeGreaterThanOrEqual(total);
        }
      }),
      { numRuns: 150 },
    );
  });
});
